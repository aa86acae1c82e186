import { generate } from 'otplib';
import { afterAll } from 'vitest';

/**
 * The log capture every suite runs under (a vitest setup file): what the handlers write
 * to stdout and stderr as JSON (Powertools log lines, embedded-metric lines) is kept out
 * of the test output and checked after each file for secrets: bearer tokens, TOTP codes
 * and secrets, presigned URLs, credentials, and the CRM values the suite handled. A
 * leak fails the file's afterAll with the line it was found in (the secret masked).
 *
 * Known values are registered where they pass (test/support/local-runtime.ts: tokens,
 * codes, secrets, record values); shapes that are secret whatever their value (a JWT, a
 * SigV4 signature, an otpauth URI, a HubSpot token) are matched as patterns. Codes typed
 * into the web page or the CLI never pass through the test's API helper: every code of a
 * registered TOTP secret during the file's run (and an hour either side, for moved
 * clocks) is checked too.
 */

interface CaptureState {
  lines: string[];
  /** Secret value → what it is. */
  secrets: Map<string, string>;
}

/** The kind a TOTP secret is registered as: its codes are secrets too. */
export const TOTP_SECRET = 'a TOTP secret';
const TOTP_STEP_SECONDS = 30;
/** How far before the file started and after it ended a code counts (tests move their clocks). */
const TOTP_MARGIN_SECONDS = 60 * 60;

const STATE_KEY = Symbol.for('crm-backup.log-capture');
const state: CaptureState = ((globalThis as Record<symbol, unknown>)[STATE_KEY] as CaptureState | undefined) ?? { lines: [], secrets: new Map() };
const fileStartedAt = Date.now();
(globalThis as Record<symbol, unknown>)[STATE_KEY] = state;

/** Secret whatever their value. */
const SECRET_SHAPES: Array<{ kind: string; pattern: RegExp }> = [
  { kind: 'a JWT (bearer or ID token)', pattern: /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}/ },
  { kind: 'a presigned URL signature', pattern: /X-Amz-Signature=|X-Amz-Credential=/i },
  { kind: 'a TOTP secret URI', pattern: /otpauth:\/\//i },
  { kind: 'a HubSpot access token', pattern: /\bpat-[a-z0-9]{2,4}-[0-9a-f]{8}-/i },
  { kind: 'an authorization header', pattern: /"authorization"\s*:/i },
];

/** Registers a value that must never appear in a log line (shorter than 6 characters: too common to check). */
export function registerSecret(kind: string, value: string | undefined): void {
  if (value && value.length >= 6) state.secrets.set(value, kind);
}

/** The JSON lines the handlers wrote so far in this test file, parsed. */
export function capturedLogs(): Array<Record<string, any>> {
  return state.lines.map((line) => JSON.parse(line) as Record<string, any>);
}

/** Registers as TOTP codes every code of the registered TOTP secrets from before this file started until after now. */
export async function registerTotpCodes(from = fileStartedAt - TOTP_MARGIN_SECONDS * 1000, to = Date.now() + TOTP_MARGIN_SECONDS * 1000): Promise<void> {
  const secrets = [...state.secrets].filter(([, kind]) => kind === TOTP_SECRET).map(([value]) => value);
  const steps = Math.ceil((to - from) / 1000 / TOTP_STEP_SECONDS);
  for (const secret of secrets) {
    for (let step = 0; step <= steps; step += 1) {
      registerSecret('a TOTP code', await generate({ secret, epoch: Math.floor(from / 1000) + step * TOTP_STEP_SECONDS }));
    }
  }
}

/** Every captured line that holds a secret, with what it is and the line (secret masked). */
export function findLeaks(lines: string[] = state.lines): Array<{ kind: string; line: string }> {
  const leaks: Array<{ kind: string; line: string }> = [];
  for (const line of lines) {
    for (const { kind, pattern } of SECRET_SHAPES) if (pattern.test(line)) leaks.push({ kind, line: line.replace(pattern, '«secret»') });
    // Codes only as a whole number: ids and times are full of digits.
    for (const [number] of line.matchAll(/(?<![\w-])\d{6,}(?![\w-])/g)) {
      const kind = state.secrets.get(number);
      if (kind) leaks.push({ kind, line: line.split(number).join('«secret»') });
    }
    for (const [value, kind] of state.secrets) {
      if (!/^\d+$/.test(value) && line.includes(value)) leaks.push({ kind, line: line.split(value).join('«secret»') });
    }
  }
  return leaks;
}

/** Forgets the captured lines (a test that leaks on purpose, to prove the check). */
export function clearCapturedLogs(): void {
  state.lines.length = 0;
}

/** JSON written by the service: Powertools log lines and embedded-metric-format lines. */
function isServiceLine(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return parsed.service === 'crm-backup' || '_aws' in parsed;
  } catch {
    return false;
  }
}

function capture(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
    if (text === undefined) return write(chunk, ...rest);
    const kept = text.split('\n').filter((line) => {
      if (!isServiceLine(line)) return true;
      state.lines.push(line);
      return false;
    });
    const callback = rest.find((argument) => typeof argument === 'function') as (() => void) | undefined;
    if (kept.every((line) => line === '')) {
      callback?.();
      return true;
    }
    return write(kept.join('\n'), ...rest);
  }) as typeof stream.write;
}

const INSTALLED = Symbol.for('crm-backup.log-capture.installed');
if (!(process.stdout as unknown as Record<symbol, boolean>)[INSTALLED]) {
  capture(process.stdout);
  capture(process.stderr);
  (process.stdout as unknown as Record<symbol, boolean>)[INSTALLED] = true;
}

afterAll(async () => {
  await registerTotpCodes();
  const leaks = findLeaks();
  state.lines.length = 0;
  if (leaks.length > 0) {
    const shown = leaks.slice(0, 5).map((leak) => `${leak.kind}: ${leak.line.slice(0, 400)}`);
    throw new Error(`The handlers logged secrets (${leaks.length} lines), test/support/log-capture.ts:\n${shown.join('\n')}`);
  }
});
