// This file implements process inspection from the perspective of a bench that splits CPU and
// memory by process: the fields of Linux `/proc/<pid>/stat` (own and reaped children's CPU,
// start time, parent), a server's process tree, its command lines, and each process's
// resident, proportional and unique memory from `/proc/<pid>/smaps_rollup`.
import { readdir, readFile } from 'node:fs/promises';

/** One process as `/proc/<pid>/stat` shows it. Times in clock ticks (`CLK_TCK`, 100 on Linux). */
export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** State letter: `R`, `S`, `Z` (zombie)… */
  readonly state: string;
  /** utime + stime of all its threads. */
  readonly ownTicks: number;
  /** cutime + cstime: CPU of children it has waited for (not of those reaped by SIG_IGN). */
  readonly childTicks: number;
  /** Start time after boot, in ticks: with the PID, names one process even if PIDs are reused. */
  readonly startTicks: number;
}

/** Linux's `USER_HZ`, which /proc times are given in on every architecture Node runs on. */
export const TICKS_PER_SECOND = 100;

/**
 * Parses a `/proc/<pid>/stat` line. The command name may hold spaces and parentheses, so the
 * fields are counted after the last `)`.
 *
 * @throws Error when the line has too few fields
 */
export function parseProcStat(pid: number, line: string): ProcStat {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // After the name: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17) … starttime(22).
  if (fields.length < 20) throw new Error(`proc: short stat line for ${pid}: ${JSON.stringify(line)}`);
  const at = (field: number): number => Number(fields[field - 3]);
  return {
    pid,
    ppid: at(4),
    state: fields[0] ?? '?',
    ownTicks: at(14) + at(15),
    childTicks: at(16) + at(17),
    startTicks: at(22),
  };
}

/** `/proc/<pid>/stat`, or undefined when the process is gone. */
export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(pid, await readFile(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** `/proc/<pid>/task/<tid>/stat`: one thread (`tid === pid` is the main thread), or undefined. */
export async function readThreadStat(pid: number, tid: number): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(tid, await readFile(`/proc/${pid}/task/${tid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** The first field of a `schedstat` line: time on a CPU, in ns. */
function onCpuNs(text: string): number {
  return Number(text.slice(0, text.indexOf(' ')));
}

/**
 * CPU time of one thread in µs, exact (`/proc/<pid>/task/<tid>/schedstat`, in ns); from
 * `stat`'s 10 ms ticks where the kernel has no schedstat. Undefined when the thread is gone.
 */
export async function threadCpuUs(pid: number, tid: number): Promise<number | undefined> {
  try {
    return onCpuNs(await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'latin1')) / 1000;
  } catch {
    const stat = await readThreadStat(pid, tid);
    return stat === undefined ? undefined : (stat.ownTicks * 1_000_000) / TICKS_PER_SECOND;
  }
}

/**
 * CPU time of all of a process's live threads in µs (see {@link threadCpuUs}): `stat`'s
 * utime + stime count in 10 ms ticks, too coarse for a slice of a few dozen slow requests.
 * Undefined when the process is gone.
 */
export async function processCpuUs(pid: number): Promise<number | undefined> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const each = await Promise.all(tids.map((tid) => threadCpuUs(pid, Number(tid))));
  return each.reduce<number>((sum, us) => sum + (us ?? 0), 0);
}

/** Every process on the machine (zombies included: their CPU is still counted until reaped). */
export async function allProcesses(): Promise<ProcStat[]> {
  const names = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  const stats = await Promise.all(names.map((n) => readProcStat(Number(n))));
  return stats.filter((s) => s !== undefined);
}

/** A process of a server's tree: its stat and its depth below the root (root = 0). */
export interface TreeMember {
  readonly stat: ProcStat;
  readonly depth: number;
}

/** `root` and all its descendants among `processes`, each with its depth. */
export function processTree(root: number, processes: readonly ProcStat[]): TreeMember[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of processes) {
    const siblings = children.get(p.ppid);
    if (siblings === undefined) children.set(p.ppid, [p]);
    else siblings.push(p);
  }
  const top = processes.find((p) => p.pid === root);
  if (top === undefined) return [];
  const out: TreeMember[] = [];
  const walk = (stat: ProcStat, depth: number): void => {
    out.push({ stat, depth });
    for (const child of children.get(stat.pid) ?? []) walk(child, depth + 1);
  };
  walk(top, 0);
  return out;
}

/** The command line of `pid` with NULs as spaces (`""` when gone); shows mod_wsgi's `(wsgi:GROUP)`. */
export async function commandLine(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
  return raw.replace(/\0/g, ' ').trim();
}

/** Memory of one process, in KiB. */
export interface ProcMemory {
  /** Resident set: every page mapped in, shared ones counted whole. */
  readonly rssKb: number;
  /** Proportional set: each shared page divided among the processes that map it. */
  readonly pssKb: number;
  /** Unique set: private pages only (Private_Clean + Private_Dirty), what killing it frees. */
  readonly ussKb: number;
}

/** Parses `smaps_rollup` text. @throws Error when Rss or Pss is missing */
export function parseSmapsRollup(text: string): ProcMemory {
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  };
  const rssKb = field('Rss');
  const pssKb = field('Pss');
  if (rssKb === undefined || pssKb === undefined) throw new Error('proc: smaps_rollup without Rss/Pss');
  return { rssKb, pssKb, ussKb: (field('Private_Clean') ?? 0) + (field('Private_Dirty') ?? 0) };
}

/** `/proc/<pid>/smaps_rollup` (needs root or the same user), or undefined when unreadable. */
export async function readMemory(pid: number): Promise<ProcMemory | undefined> {
  try {
    return parseSmapsRollup(await readFile(`/proc/${pid}/smaps_rollup`, 'latin1'));
  } catch {
    return undefined;
  }
}
