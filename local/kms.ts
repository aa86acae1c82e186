import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { AwsJsonError, startJsonProtocolServer } from './json-protocol.ts';

/** The one key the stand-in holds, named as KMS names keys (config.secretsKeyId). */
export const LOCAL_KEY_ARN = 'arn:aws:kms:us-east-1:000000000000:key/local-secrets-key';

/**
 * The KMS stand-in: `Encrypt` and `Decrypt` over the JSON protocol the real KMSClient
 * speaks, so TOTP secrets go through the same KmsSecretCipher locally as in AWS. One
 * AES-256-GCM key kept in DATA_DIR; the encryption context is authenticated data, as in
 * KMS: a ciphertext moved to another user's context fails to decrypt.
 * CiphertextBlob: `v1.<iv>.<tag>.<ciphertext>` (base64url parts) as UTF-8 bytes.
 */
export async function startKms(keyFile: string): Promise<{ endpoint: string; keyArn: string; stop(): Promise<void> }> {
  const key = await localKey(keyFile);
  const server = await startJsonProtocolServer('KMS', {
    Encrypt: (body) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(contextBytes(body.EncryptionContext));
      const encrypted = Buffer.concat([cipher.update(Buffer.from(String(body.Plaintext), 'base64')), cipher.final()]);
      const sealed = ['v1', ...[iv, cipher.getAuthTag(), encrypted].map((part) => part.toString('base64url'))].join('.');
      return { CiphertextBlob: Buffer.from(sealed, 'utf8').toString('base64'), KeyId: LOCAL_KEY_ARN, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
    Decrypt: (body) => {
      const [version, iv, tag, encrypted] = Buffer.from(String(body.CiphertextBlob), 'base64').toString('utf8').split('.');
      if (version !== 'v1' || !iv || !tag || encrypted === undefined) throw new AwsJsonError('InvalidCiphertextException', 'Not a ciphertext of this key');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(contextBytes(body.EncryptionContext));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        const plaintext = Buffer.concat([decipher.update(Buffer.from(encrypted, 'base64url')), decipher.final()]);
        return { Plaintext: plaintext.toString('base64'), KeyId: LOCAL_KEY_ARN, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      } catch {
        throw new AwsJsonError('InvalidCiphertextException', 'The ciphertext or its encryption context does not match');
      }
    },
  });
  return { ...server, keyArn: LOCAL_KEY_ARN };
}

/** Sorted keys: the same context always authenticates the same bytes. */
function contextBytes(context: unknown): Buffer {
  const entries = Object.entries((context ?? {}) as Record<string, string>).sort(([a], [b]) => a.localeCompare(b));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

/** A random AES-256 key, made on the first start and kept in DATA_DIR. */
async function localKey(file: string): Promise<Buffer> {
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing) return Buffer.from(existing.trim(), 'base64');
  const key = randomBytes(32);
  await writeFile(file, key.toString('base64'), { mode: 0o600 });
  return key;
}
