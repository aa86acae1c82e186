import { readFileSync } from 'node:fs';

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
