import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AesGcmSecretCipher } from '#adapters/aes-gcm-secret-cipher.ts';

describe('AesGcmSecretCipher', () => {
  const cipher = new AesGcmSecretCipher(randomBytes(32).toString('base64'));

  it('round-trips a secret without storing it in clear', async () => {
    const sealed = await cipher.encrypt('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', { purpose: 'totp', userId: 'u1' });
    expect(sealed).not.toContain('JBSWY3DP');
    expect(await cipher.decrypt(sealed, { userId: 'u1', purpose: 'totp' })).toBe('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  });

  it("refuses a ciphertext moved to another user's context, or altered", async () => {
    const sealed = await cipher.encrypt('secret', { purpose: 'totp', userId: 'u1' });
    await expect(cipher.decrypt(sealed, { purpose: 'totp', userId: 'u2' })).rejects.toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('other!').toString('base64url');
    await expect(cipher.decrypt(parts.join('.'), { purpose: 'totp', userId: 'u1' })).rejects.toThrow();
  });

  it('refuses a key of the wrong size', () => {
    expect(() => new AesGcmSecretCipher(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
  });
});
