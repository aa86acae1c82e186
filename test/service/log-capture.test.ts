import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, describe, expect, it } from 'vitest';
import { generate } from 'otplib';
import { clearCapturedLogs, capturedLogs, findLeaks, registerSecret, registerTotpCodes, TOTP_SECRET } from '../support/log-capture.ts';

/** The secret check over the handlers' logs can fail: a leak is found, in every form. */
describe('log capture', () => {
  const logger = new Logger({ serviceName: 'crm-backup' });
  afterEach(() => clearCapturedLogs());

  it('keeps the service JSON lines and finds a registered value, a JWT, a presigned URL and a six-digit code', () => {
    registerSecret('a record value', 'Ana Silva <ana@example.com>');
    registerSecret('a TOTP code', '492039');
    logger.info('Something happened', { detail: 'for Ana Silva <ana@example.com>' });
    logger.info('Token', { value: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlc2ln' });
    logger.info('Link', { url: 'https://bucket.s3.amazonaws.com/key?X-Amz-Signature=abc' });
    logger.info('Code', { code: '492039' });
    logger.info('Innocent', { id: 'bk_0mxd492039aa', durationMs: 12 });
    expect(capturedLogs().map((line) => line.message)).toEqual(['Something happened', 'Token', 'Link', 'Code', 'Innocent']);
    expect(findLeaks().map((leak) => leak.kind)).toEqual(['a record value', 'a JWT (bearer or ID token)', 'a presigned URL signature', 'a TOTP code']);
    expect(findLeaks()[0]!.line).not.toContain('ana@example.com');
  });

  it('finds a code of a registered TOTP secret that no test registered (typed into the web page or the CLI)', async () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    registerSecret(TOTP_SECRET, secret);
    const typed = await generate({ secret });
    logger.info('Code', { code: typed });
    logger.info('Innocent', { durationMs: 7, count: 1234567 });
    await registerTotpCodes();
    expect(findLeaks().map((leak) => leak.kind)).toEqual(['a TOTP code']);
    expect(findLeaks()[0]!.line).not.toContain(typed);
  });
});
