import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { AwsCall } from '../../local/aws-calls.ts';
import { PROJECT_ROOT } from '../../infra/paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where this `vitest run` records the AWS calls of every local runtime (vitest.config.ts). */
    awsCallsDir?: string;
  }
}

/** One folder per test run under here; the permission check reads the newest. */
export const AWS_CALLS_ROOT = join(PROJECT_ROOT, 'test-results', 'aws-calls');

/** A recorded call, with the deployment setting the runtime stood for (`-c mfa=...`, which changes grants). */
export type RecordedAwsCall = AwsCall & { mfa: 'required' | 'optional' };

/**
 * The recorder for a test runtime: every distinct call, as one JSON line in a file of
 * its own in this run's folder (suites run in parallel processes). Undefined when the
 * run records nothing (the reliability suite).
 */
export function awsCallRecorder(mfa: RecordedAwsCall['mfa']): ((call: AwsCall) => void) | undefined {
  const dir = inject('awsCallsDir');
  if (!dir) return undefined;
  const file = join(dir, `${process.pid}-${randomUUID()}.jsonl`);
  const seen = new Set<string>();
  return (call) => {
    const line = JSON.stringify({ ...call, mfa } satisfies RecordedAwsCall);
    if (seen.has(line)) return;
    if (seen.size === 0) mkdirSync(dir, { recursive: true });
    seen.add(line);
    appendFileSync(file, `${line}\n`);
  };
}

/**
 * The calls this `vitest run` recorded (npm test: the suites ran first); when it recorded
 * none (the check run alone), those of the newest earlier run, with `earlier` set.
 * Runs older than the one read are deleted.
 */
export function readRecordedAwsCalls(): { dir: string; earlier: boolean; calls: RecordedAwsCall[] } | undefined {
  const hasCalls = (path: string) => {
    try {
      return statSync(path).isDirectory() && readdirSync(path).some((file) => file.endsWith('.jsonl'));
    } catch {
      return false;
    }
  };
  const current = inject('awsCallsDir');
  const runs = (() => {
    try {
      return readdirSync(AWS_CALLS_ROOT)
        .map((name) => join(AWS_CALLS_ROOT, name))
        .filter(hasCalls)
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    } catch {
      return [];
    }
  })();
  const chosen = current && hasCalls(current) ? current : runs[0];
  if (!chosen) return undefined;
  for (const dir of runs) if (dir !== chosen && dir !== current && statSync(dir).mtimeMs < statSync(chosen).mtimeMs) rmSync(dir, { recursive: true, force: true });
  const calls = readdirSync(chosen)
    .filter((file) => file.endsWith('.jsonl'))
    .flatMap((file) =>
      readFileSync(join(chosen, file), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as RecordedAwsCall),
    );
  return { dir: chosen, earlier: chosen !== current, calls };
}
