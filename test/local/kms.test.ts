import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmsSecretCipher } from '#adapters/kms-secret-cipher.ts';
import { startKms } from '../../local/kms.ts';

/** The local KMS stand-in, through the real KMSClient and the cipher Lambda uses. */
describe('local KMS stand-in', () => {
  let dir: string;
  let kms: Awaited<ReturnType<typeof startKms>>;
  let cipher: KmsSecretCipher;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crm-backup-kms-'));
    kms = await startKms(join(dir, 'key'));
    cipher = new KmsSecretCipher(new KMSClient({ region: 'us-east-1', endpoint: kms.endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }), kms.keyArn);
  });
  afterAll(async () => {
    await kms.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips a secret without storing it in clear', async () => {
    const sealed = await cipher.encrypt('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', { purpose: 'totp', userId: 'u1' });
    expect(Buffer.from(sealed, 'base64').toString('utf8')).not.toContain('JBSWY3DP');
    expect(await cipher.decrypt(sealed, { userId: 'u1', purpose: 'totp' })).toBe('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  });

  it("refuses a ciphertext moved to another user's context, or altered, as KMS does", async () => {
    const sealed = await cipher.encrypt('secret', { purpose: 'totp', userId: 'u1' });
    await expect(cipher.decrypt(sealed, { purpose: 'totp', userId: 'u2' })).rejects.toThrow(/ciphertext/i);
    const parts = Buffer.from(sealed, 'base64').toString('utf8').split('.');
    parts[3] = Buffer.from('other!').toString('base64url');
    await expect(cipher.decrypt(Buffer.from(parts.join('.')).toString('base64'), { purpose: 'totp', userId: 'u1' })).rejects.toThrow(/ciphertext/i);
  });

  it('keeps its key across restarts, so stored secrets stay readable', async () => {
    const sealed = await cipher.encrypt('kept', { userId: 'u1' });
    await kms.stop();
    kms = await startKms(join(dir, 'key'));
    const again = new KmsSecretCipher(new KMSClient({ region: 'us-east-1', endpoint: kms.endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }), kms.keyArn);
    expect(await again.decrypt(sealed, { userId: 'u1' })).toBe('kept');
  });
});
