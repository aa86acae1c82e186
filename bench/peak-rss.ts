import { readFileSync } from 'node:fs';
import { FUNCTIONS, lambdaOldSpaceMb, YOUNG_GENERATION_SEMI_SPACE_MB, type FunctionName } from '#service/catalog.ts';

/**
 * The V8 flags the Lambda function `name` runs with: the young generation of
 * infra/lambda/node-flags.sh and the old space Lambda's bootstrap gives its memory
 * (or `heapMb`, to cap it lower). A bench process that stands in for a step runs with
 * them, so its memory is the step's: V8's garbage collection paces itself by both.
 */
export function asInLambda(name: FunctionName, { heapMb }: { heapMb?: number } = {}): string[] {
  return [`--max-semi-space-size=${YOUNG_GENERATION_SEMI_SPACE_MB}`, `--max-old-space-size=${heapMb ?? lambdaOldSpaceMb(FUNCTIONS[name].memoryMb)}`];
}

/**
 * This process's peak resident memory in MB: `VmHWM` from /proc/self/status.
 *
 * Not `process.resourceUsage().maxRSS`: on Linux a child keeps the high-water mark of
 * the memory it was forked from across `exec`, so a step forked from a bench process
 * holding the DynamoDB stand-in (1 GB with a million records) reported that parent's
 * size instead of its own. VmHWM belongs to the process's own address space.
 */
export function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Math.round(Number(kb) / 1024);
  } catch {
    // Not Linux: fall back below.
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** CPU milliseconds of this process (the step) and of its parent (the stand-ins: dynalite, S3, the bus). */
export type Cpu = { step: number; store: number };

/** Starts counting CPU; the function answers what was used since. */
export function cpuSince(): () => Cpu {
  const started = { step: process.cpuUsage(), store: storeCpuMs() };
  return () => {
    const step = process.cpuUsage(started.step);
    return { step: (step.user + step.system) / 1000, store: storeCpuMs() - started.store };
  };
}

export function addCpu(total: Cpu, more: Cpu): void {
  total.step += more.step;
  total.store += more.store;
}

/** The parent's user + system time from /proc (clock ticks of 10 ms). */
function storeCpuMs(): number {
  const fields = readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
