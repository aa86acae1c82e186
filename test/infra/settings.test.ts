import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../infra/settings.ts';

const settingsFrom = (context: Record<string, unknown>) => readSettings(new App({ context: { senderEmail: 'backups@crm.test', ...context } }).node);

describe('readSettings', () => {
  it('defaults to the dev stage, 30-day logs, required MFA and no SSO', () => {
    expect(settingsFrom({})).toEqual({
      stage: 'dev',
      mfa: 'required',
      reservedConcurrency: true,
      senderEmail: 'backups@crm.test',
      domainName: undefined,
      certificateArn: undefined,
      authDomainPrefix: undefined,
      sso: undefined,
      alarmEmail: undefined,
      logRetentionDays: 30,
      logLevel: 'INFO',
      webAssetsDir: undefined,
    });
  });

  it('reads the functions\' log level in any case', () => {
    expect(settingsFrom({ logLevel: 'debug' }).logLevel).toBe('DEBUG');
  });

  it('reads SSO given as a JSON string on the command line', () => {
    const sso = settingsFrom({ sso: '{"type":"SAML","name":"Corp","metadataUrl":"https://idp.test/m.xml"}' }).sso;
    expect(sso).toEqual({ type: 'SAML', name: 'Corp', metadataUrl: 'https://idp.test/m.xml', accountIdAttribute: undefined });
  });

  it.each([
    [{ stage: 'Prod' }, /stage/],
    [{ senderEmail: 'not-an-address' }, /senderEmail.*not an email/],
    [{ domainName: 'backups.corp.test' }, /certificateArn/],
    [{ domainName: 'b.corp.test', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/x' }, /us-east-1/],
    [{ authDomainPrefix: 'my-cognito-login' }, /may not contain/],
    [{ logRetentionDays: 31 }, /logRetentionDays/],
    [{ mfa: 'off' }, /mfa/],
    [{ logLevel: 'TRACE' }, /logLevel/],
    [{ reservedConcurrency: 'no' }, /reservedConcurrency/],
    [{ sso: { type: 'OIDC', name: 'Corp', issuerUrl: 'https://x.test', clientId: 'c' } }, /clientSecretName/],
    [{ sso: { type: 'LDAP' } }, /SAML.*OIDC/],
  ])('refuses %j with a sentence naming the setting', (context, message) => {
    expect(() => settingsFrom(context)).toThrow(message);
  });
});
