import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { SecretCipher } from '#core/ports/totp-secrets.ts';
import { rethrowTransient } from './aws-errors.ts';

/**
 * Secrets encrypted by a KMS key (config.secretsKeyId). The encryption context binds a
 * ciphertext to its user: KMS refuses to decrypt it under another context, and
 * CloudTrail logs each use.
 */
export class KmsSecretCipher implements SecretCipher {
  private readonly client: KMSClient;
  private readonly keyId: string | undefined;

  constructor(client: KMSClient, keyId: string | undefined) {
    this.client = client;
    this.keyId = keyId;
  }

  async encrypt(plaintext: string, context: Record<string, string>): Promise<string> {
    if (!this.keyId) throw new Error('SECRETS_KEY_ID is not set: TOTP secrets cannot be encrypted');
    try {
      const { CiphertextBlob } = await this.client.send(
        new EncryptCommand({ KeyId: this.keyId, Plaintext: Buffer.from(plaintext, 'utf8'), EncryptionContext: context }),
      );
      return Buffer.from(CiphertextBlob!).toString('base64');
    } catch (error) {
      return rethrowTransient(error, 'The key service');
    }
  }

  async decrypt(ciphertext: string, context: Record<string, string>): Promise<string> {
    try {
      const { Plaintext } = await this.client.send(
        new DecryptCommand({ CiphertextBlob: Buffer.from(ciphertext, 'base64'), EncryptionContext: context, ...(this.keyId ? { KeyId: this.keyId } : {}) }),
      );
      return Buffer.from(Plaintext!).toString('utf8');
    } catch (error) {
      return rethrowTransient(error, 'The key service');
    }
  }
}
