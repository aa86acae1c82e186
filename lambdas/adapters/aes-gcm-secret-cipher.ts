import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretCipher } from '#core/ports/totp-secrets.ts';

/**
 * The local runtime's stand-in for KMS: AES-256-GCM with a key kept in DATA_DIR
 * (config.local.secretsKey). The context is authenticated data, as KMS's encryption
 * context is: a ciphertext moved to another user fails to decrypt.
 * Format: `v1.<iv>.<tag>.<ciphertext>`, base64url parts.
 */
export class AesGcmSecretCipher implements SecretCipher {
  private readonly key: Buffer;

  constructor(base64Key: string) {
    this.key = Buffer.from(base64Key, 'base64');
    if (this.key.length !== 32) throw new Error('The local secrets key must be 32 bytes (base64)');
  }

  async encrypt(plaintext: string, context: Record<string, string>): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(contextBytes(context));
    const encrypted = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), encrypted].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  async decrypt(ciphertext: string, context: Record<string, string>): Promise<string> {
    const [version, iv, tag, encrypted] = ciphertext.split('.');
    if (version !== 'v1' || !iv || !tag || encrypted === undefined) throw new Error('Not a ciphertext of this cipher');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(contextBytes(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(encrypted, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** Sorted keys: the same context always authenticates the same bytes. */
function contextBytes(context: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify(Object.keys(context).sort().map((name) => [name, context[name]])), 'utf8');
}
