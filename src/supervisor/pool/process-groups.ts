// This file implements the supervisor's check of a process group a worker names, from the
// perspective of a root supervisor that must never signal what the worker could not: a worker's
// `cgi-group` message is data (a script in a `node` or `handler` pool shares the worker's
// process and can write to any of its descriptors), so the group is believed only when the
// kernel confirms it — its leader is a descendant of that worker — and it is signalled later
// only if the leader is still the process that was checked (same start time), or, once the
// leader is gone, member by member among processes owned by the same user that started after it.
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';

/** The fields of `/proc/PID/stat` the checks read. */
export interface ProcessInfo {
  readonly ppid: number;
  readonly pgrp: number;
  /** Start time after boot, in clock ticks (field 22): with the pid, names one process for ever. */
  readonly startTime: number;
}

/** The owner of `/proc/PID` (the process's effective uid), `undefined` when it is gone. */
export type OwnerReader = (pid: number) => number | undefined;

/** Reads one process's {@link ProcessInfo}; `undefined` when there is no such process. */
export type ProcessReader = (pid: number) => ProcessInfo | undefined;

/** Lists the pids of every process (`/proc`), for the member-by-member kill. */
export type ProcessLister = () => readonly number[];

/** A process group the kernel confirmed: its leader's pid and start time, and its worker's uid. */
export interface VerifiedGroup {
  readonly pgid: number;
  readonly startTime: number;
  /** The uid the worker runs as (the pool's user): whose processes may be signalled. */
  readonly uid: number;
}

/** Ancestry deeper than this is not followed (a fork bomb cannot make the check costly). */
const MAX_DEPTH = 64;

/**
 * One buffer for every `/proc/PID/stat` read: the line is at most ~1.1 KB (a 15-byte command name
 * and 52 numbers). `readFileSync` cannot know that (the file's size is 0) and allocated 64 KiB
 * per read: with the open and fstat it cost ~150 µs of the supervisor per `exec` request under
 * load (a CPU profile of the supervisor; now one open, one read, one close).
 */
const STAT_LINE = Buffer.allocUnsafe(4096);

/** `/proc/PID/stat` as text (a longer one than the buffer is read whole, never cut). */
function readStatLine(path: string): string {
  const fd = openSync(path, 'r');
  let length: number;
  try {
    length = readSync(fd, STAT_LINE, 0, STAT_LINE.length, 0);
  } finally {
    closeSync(fd);
  }
  return length < STAT_LINE.length ? STAT_LINE.toString('latin1', 0, length) : readFileSync(path, 'latin1');
}

/**
 * `/proc/PID/stat`, or `undefined` when the process is gone. One read per check: it runs in the
 * supervisor for each `exec` request.
 */
export function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const text = readStatLine(`/proc/${String(pid)}/stat`);
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), pgrp: Number(fields[2]), startTime: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

/** The owner of `/proc/PID`. */
export function readOwner(pid: number): number | undefined {
  try {
    return statSync(`/proc/${String(pid)}`).uid;
  } catch {
    return undefined;
  }
}

/** Every pid in `/proc`. */
export function listProcesses(): readonly number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) if (/^\d+$/.test(name)) pids.push(Number(name));
  return pids;
}

/**
 * Checks that `pgid` is a process group whose leader (pid `pgid`, a zombie counts) is a
 * descendant of `workerPid` (running as `workerUid`), walking the parent chain in `/proc`.
 * @returns the group with its leader's start time, or the reason it is refused
 */
export function verifyGroup(
  workerPid: number, workerUid: number, pgid: unknown, read: ProcessReader = readProcess,
): VerifiedGroup | string {
  if (typeof pgid !== 'number' || !Number.isSafeInteger(pgid) || pgid <= 1) return 'not a process group id';
  if (pgid === workerPid) return 'the worker itself';
  const leader = read(pgid);
  if (leader === undefined) return 'no such process';
  if (leader.pgrp !== pgid) return 'not a process group leader';
  let pid = leader.ppid;
  for (let depth = 0; depth < MAX_DEPTH && pid > 1; depth += 1) {
    if (pid === workerPid) return { pgid, startTime: leader.startTime, uid: workerUid };
    const parent = read(pid);
    if (parent === undefined) break;
    pid = parent.ppid;
  }
  return 'not a descendant of the worker';
}

/** How {@link killVerifiedGroup} ended. */
export type GroupKill = 'group' | 'members' | 'refused';

/**
 * SIGKILLs a group {@link verifyGroup} confirmed, re-checked now: while its leader lives (or is
 * a zombie) with the same start time, the whole group (`kill(-pgid)`); a different process under
 * that pid means the id was reused: nothing is signalled. Once the leader is gone its pid cannot
 * have been reused while members remain, but the group cannot be told from a later one of the same
 * id either, so only members owned by the worker's user that started no earlier than it are killed.
 */
export function killVerifiedGroup(
  group: VerifiedGroup,
  kill: (pid: number, signal: NodeJS.Signals) => void = (pid, signal) => { process.kill(pid, signal); },
  read: ProcessReader = readProcess,
  list: ProcessLister = listProcesses,
  owner: OwnerReader = readOwner,
): GroupKill {
  const leader = read(group.pgid);
  if (leader !== undefined) {
    if (leader.startTime !== group.startTime || leader.pgrp !== group.pgid) return 'refused';
    quietly(() => { kill(-group.pgid, 'SIGKILL'); });
    return 'group';
  }
  for (const pid of list()) {
    const member = read(pid);
    if (member?.pgrp !== group.pgid || member.startTime < group.startTime || owner(pid) !== group.uid) continue;
    quietly(() => { kill(pid, 'SIGKILL'); });
  }
  return 'members';
}

function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // ESRCH: already gone.
  }
}
