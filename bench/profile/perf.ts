// This file implements native-level sampling from the perspective of a profile that must see
// below V8: `perf record -e cpu-clock` (a software event: VMs often have no hardware counters)
// on the daemon's processes for one wrk run, then its report by process and shared object
// (kernel, node, libc, JIT code) and the top symbols of each process.
import { runCommand } from '../run-command.ts';

/** One line of `perf report --sort …`: a share of all samples and its keys. */
export interface PerfLine {
  readonly percent: number;
  /** The sort keys as printed (`1234:node`, `[kernel.kallsyms]`, `[k] do_syscall_64`). */
  readonly keys: readonly string[];
}

/** Parses `perf report --stdio --no-children -g none` lines (comments and blanks skipped). */
export function parsePerfReport(text: string): PerfLine[] {
  const lines: PerfLine[] = [];
  for (const raw of text.split('\n')) {
    const match = /^\s+([\d.]+)%\s+(.*\S)\s*$/.exec(raw);
    if (match === null) continue;
    lines.push({ percent: Number(match[1]), keys: (match[2] ?? '').split(/\s{2,}/) });
  }
  return lines;
}

/**
 * Records `pids` (all their threads) for `seconds` at 1999 Hz into `file`.
 *
 * @throws Error when perf fails (no permission, no such event)
 */
export async function perfRecord(
  perf: string,
  pids: readonly number[],
  seconds: number,
  file: string,
): Promise<void> {
  const args = [
    'record',
    '-e',
    'cpu-clock',
    '-F',
    '1999',
    '-g',
    '-o',
    file,
    '-p',
    pids.join(','),
    '--',
    'sleep',
    String(seconds),
  ];
  await runCommand(perf, args, { timeoutMs: (seconds + 60) * 1000 });
}

/**
 * `perf report --sort pid,KEYS` of `file`, parsed; shares of all samples. (Filtering with
 * `--pid` instead dropped shared objects from the listing in perf 6.1.)
 */
export async function perfReport(perf: string, file: string, sort: string): Promise<PerfLine[]> {
  const args = ['report', '-i', file, '--stdio', '--no-children', '-g', 'none', '--sort', `pid,${sort}`];
  const { stdout } = await runCommand(perf, args, { timeoutMs: 120_000 });
  return parsePerfReport(stdout);
}

/** The pid of a `pid,…` line's first key (`8851:node`). */
function pidOf(line: PerfLine): number {
  return Number.parseInt(line.keys[0] ?? '', 10);
}

/**
 * The lines of the processes `pids`, their pid key dropped and lines with the same remaining
 * keys summed, as shares of those processes' samples (%), largest first.
 */
export function sharesOf(lines: readonly PerfLine[], pids: readonly number[]): PerfLine[] {
  const mine = lines.filter((l) => pids.includes(pidOf(l)));
  const total = mine.reduce((n, l) => n + l.percent, 0);
  const by = new Map<string, PerfLine>();
  for (const l of mine) {
    const keys = l.keys.slice(1).map((k) => k.replace(/^\[JIT\] tid \d+$/, '[JIT]'));
    const key = keys.join('\t');
    by.set(key, { percent: (by.get(key)?.percent ?? 0) + (total > 0 ? (l.percent / total) * 100 : 0), keys });
  }
  return [...by.values()].sort((a, b) => b.percent - a.percent);
}
