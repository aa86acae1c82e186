import type { Readable } from 'node:stream';
import { generate } from 'otplib';
import { expect } from 'vitest';
import type { ApiResponse, TestRuntime } from '../support/local-runtime.ts';

export { allRecords, dataPlaneHash } from '../support/data-plane.ts';
export { movableClock } from '../support/movable-clock.ts';
export { bucketKeys } from '../support/stand-ins.ts';

export const ACME_ADMIN = 'admin@acme.example';
export const ACME_SSO_ADMIN = 'sso-admin@acme.example';
export const ACME_USER = 'user@acme.example';
export const GLOBEX_ADMIN = 'admin@globex.example';
export const ACKNOWLEDGE = { changesData: true, cannotBeUndone: true };

/** A demo super admin's TOTP secret, as the local runtime prints it at start. */
export async function totpSecretOf(runtime: TestRuntime, email: string): Promise<string> {
  const found = new RegExp(`${email.replace(/[.]/g, '\\.')}\\s+secret (\\w+)`).exec(await runtime.banner());
  if (!found) throw new Error(`No TOTP secret for ${email}`);
  return found[1]!;
}

/** The TOTP code for the test clock's current 30-second step. */
export function totpCode(secret: string, now: Date): Promise<string> {
  return generate({ secret, epoch: Math.floor(now.getTime() / 1000) });
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A refusal in API.md's shape: the status, a code, a sentence, and nothing internal. */
export function expectRefusal(response: ApiResponse, status: number, code?: string | RegExp, label = ''): void {
  const context = `${label} → ${response.status} ${JSON.stringify(response.body)}`.slice(0, 600);
  expect(response.status, context).toBe(status);
  expect(typeof response.body, context).toBe('object');
  expect(typeof response.body?.error?.code, context).toBe('string');
  if (code !== undefined) expect(response.body.error.code, context).toMatch(typeof code === 'string' ? new RegExp(`^${code}$`) : code);
  expect(response.body.error.message, context).toMatch(/\S/);
  expectNoInternals(response, label);
}

/** No stack traces, file paths or SDK internals in an answer. */
export function expectNoInternals(response: ApiResponse, label = ''): void {
  const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body ?? '');
  expect(text, label).not.toMatch(/\n\s+at |node:internal|\/lambdas\/|\.ts:\d+|ResourceNotFoundException|ConditionalCheckFailed|TypeError|ReferenceError/);
}

/** Waits until `check` answers true (a background workflow reached a state). */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs = 30_000, label = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
