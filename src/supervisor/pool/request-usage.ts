// This file implements PHP-FPM's `last request cpu` and `last request memory` from the
// perspective of the supervisor watching a worker from outside (no message per request): it
// reads the CPU time of the worker and of its persistent runtime leader (the python runner)
// from /proc/PID/stat when a request starts and when it ends, and their resident memory at the
// end. /proc reads are synchronous (no disk: a few µs each), so the numbers are set before the
// request's access log line is written; only pools that show them pay (see {@link measuresUsage}).
import { readFileSync } from 'node:fs';
import { parseAccessFormat } from '../../config/access-format.ts';
import type { PoolConfig } from '../../config/schema.ts';

/** Clock ticks per second of /proc/PID/stat (USER_HZ: 100 on every Linux ABI Node runs on). */
export const CLOCK_TICKS_PER_SECOND = 100;
/** Size of a memory page on Linux x86-64 and arm64 (statm counts pages). */
const PAGE_BYTES = 4096;

/**
 * CPU time of `stat` (the text of /proc/PID/stat) in clock ticks: `utime + stime + cutime +
 * cstime` — the process's own time and that of the children it has reaped.
 * @returns undefined when the text cannot be parsed
 * @see proc(5) `/proc/pid/stat`, fields 14–17
 */
export function parseCpuTicks(stat: string): number | undefined {
  // The command name (field 2) is in parentheses and may hold spaces or ')': cut at the last.
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): field N is fields[N - 3].
  const ticks = [11, 12, 13, 14].map((i) => Number(fields[i]));
  return ticks.every((t) => Number.isSafeInteger(t) && t >= 0) ? ticks.reduce((a, b) => a + b, 0) : undefined;
}

/** CPU ticks of the processes `pids`, summed; a process gone (or not Linux) counts 0. */
export function readCpuTicks(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'latin1')) ?? 0;
    } catch { /* gone */ }
  }
  return total;
}

/** Resident memory of the processes `pids`, summed, bytes; a process gone counts 0. */
export function readRssBytesSync(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const pages = Number(readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]);
      if (Number.isSafeInteger(pages)) total += pages * PAGE_BYTES;
    } catch { /* gone */ }
  }
  return total;
}

/**
 * CPU use over a request, in % of one CPU (PHP-FPM's `last request cpu`: CPU time over wall
 * time × 100; above 100 when it used several CPUs), rounded to 0.01; 0 for an empty duration.
 * @param ticks CPU clock ticks spent during the request
 * @param wallMs its wall-clock duration, ms
 */
export function cpuPercent(ticks: number, wallMs: number, ticksPerSecond = CLOCK_TICKS_PER_SECOND): number {
  if (!(wallMs > 0) || !(ticks > 0)) return 0;
  return Math.round(((ticks * 1000) / ticksPerSecond / wallMs) * 100 * 100) / 100;
}

/**
 * True when pool `config` shows a request's CPU and memory: it has a status page (`full`
 * view), or an access log whose format has `%C` or `%M` (or is the JSON form). Other pools
 * read nothing per request.
 */
export function measuresUsage(config: PoolConfig): boolean {
  if (config.status.path !== undefined) return true;
  if (config.access.log === undefined) return false;
  try {
    const format = parseAccessFormat(config.access.format);
    return format.kind === 'json' || format.tokens.some((t) => t.kind === 'field' && (t.code === 'C' || t.code === 'M'));
  } catch {
    return false;
  }
}

/** What a finished request used, as its worker handle measured it. */
export interface RequestUsage {
  /** % of one CPU. @see FPM `last request cpu` */
  readonly cpuPercent: number;
  /** Resident memory of the worker and its runtime leader at the end, bytes. @see FPM `last request memory` */
  readonly memoryBytes: number;
}
