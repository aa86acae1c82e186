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

/**
 * The recorder for a test runtime: every distinct call, as one JSON line in a file of
 * its own in this run's folder (suites run in parallel processes). Undefined when the
 * run records nothing (the reliability suite).
 */
export function awsCallRecorder(): ((call: AwsCall) => void) | undefined {
  const dir = inject('awsCallsDir');
  if (!dir) return undefined;
  const file = join(dir, `${process.pid}-${randomUUID()}.jsonl`);
  const seen = new Set<string>();
  return (call) => {
    const line = JSON.stringify(call);
    if (seen.has(line)) return;
    if (seen.size === 0) mkdirSync(dir, { recursive: true });
    seen.add(line);
    appendFileSync(file, `${line}\n`);
  };
}

/** The calls of the newest recorded run, with its folder; older runs are deleted. */
export function readNewestAwsCalls(): { dir: string; calls: AwsCall[] } | undefined {
  const runs = (() => {
    try {
      return readdirSync(AWS_CALLS_ROOT)
        .map((name) => join(AWS_CALLS_ROOT, name))
        .filter((path) => statSync(path).isDirectory() && readdirSync(path).length > 0)
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    } catch {
      return [];
    }
  })();
  const [newest, ...older] = runs;
  if (!newest) return undefined;
  for (const dir of older) rmSync(dir, { recursive: true, force: true });
  const calls = readdirSync(newest).flatMap((file) =>
    readFileSync(join(newest, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AwsCall),
  );
  return { dir: newest, calls };
}
