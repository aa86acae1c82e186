import { createTotpSecret, readTotpSecret, type TotpEnrolment } from '#core/totp/totp-enrolment.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { DEMO_USERS } from './identity.ts';

/** Demo super admins who sign in with a password, so restores ask them for a TOTP code. */
const TOTP_DEMO_USERS = DEMO_USERS.filter((user) => user.superAdmin && !user.sso);

/**
 * Enrols the demo super admins' authenticator on the first start (the secret is stored
 * encrypted like any other) and answers each one's secret, so `npm start` can print it
 * and tests can compute codes with otplib.
 */
export async function ensureDemoTotp(deps: AppDeps): Promise<Array<{ email: string; userId: string } & TotpEnrolment>> {
  const enrolments = [];
  for (const user of TOTP_DEMO_USERS) {
    const enrolment = (await readTotpSecret(user.sub, user.email, deps)) ?? (await createTotpSecret(user.sub, user.email, deps)) ?? (await readTotpSecret(user.sub, user.email, deps));
    if (enrolment) enrolments.push({ email: user.email, userId: user.sub, ...enrolment });
  }
  return enrolments;
}

/** The start-up printout's lines about TOTP. */
export function totpBanner(enrolments: Array<{ email: string } & TotpEnrolment>): string {
  if (enrolments.length === 0) return '';
  return [
    '',
    'Restores ask password sign-ins for a TOTP code (SSO sign-ins are not asked). Demo authenticator secrets:',
    ...enrolments.map((enrolment) => `  ${enrolment.email.padEnd(24)} secret ${enrolment.secret}\n  ${''.padEnd(24)} ${enrolment.otpauthUri}`),
    `  A code now: node -e "import('otplib').then(o => o.generate({secret: process.argv[1]})).then(console.log)" <secret>`,
    '',
  ].join('\n');
}
