// This file implements process inspection from the perspective of a test that must show a CGI
// script's whole process group is gone (Linux /proc; zombies count as gone, since an orphan
// zombie waits on an init that may never reap it).
import { readdirSync, readFileSync } from 'node:fs';
import { waitUntil } from './wait.ts';

/** The fields of `/proc/<pid>/stat` the tests need. */
export interface ProcStat {
  /** Process id. */
  readonly pid: number;
  /** One-letter state: `R`, `S`, `D`, `Z` (zombie), `T`, ... */
  readonly state: string;
  /** Parent process id. */
  readonly ppid: number;
  /** Process group id. */
  readonly pgrp: number;
}

/**
 * Reads `/proc/<pid>/stat`, or `undefined` when the process does not exist.
 * The command name may contain spaces and parentheses, so fields are read after the last `)`.
 */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}

/** Every live (non-zombie) process on the machine, from `/proc`. */
export function listProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat !== undefined && stat.state !== 'Z') out.push(stat);
  }
  return out;
}

/** True when `pid` exists and is not a zombie. */
export function isProcessAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** The live members of process group `pgid`. */
export function processGroupMembers(pgid: number): number[] {
  return listProcesses()
    .filter((p) => p.pgrp === pgid)
    .map((p) => p.pid);
}

/**
 * The process group of the CGI script `scriptPid` run by a python `exec` worker: one group for
 * every script of that worker, led by a zombie child of the worker (never the worker's own group
 * or the script's parent's), which keeps the id while the worker lives.
 * @throws Error when the script is not in such a group
 */
export function scriptsGroup(scriptPid: number): number {
  const script = readProcStat(scriptPid);
  const leader = script === undefined ? undefined : readProcStat(script.pgrp);
  const worker = script === undefined ? undefined : readProcStat(script.ppid);
  if (script === undefined || leader === undefined || worker === undefined) throw new Error(`no script ${String(scriptPid)}`);
  if (leader.ppid !== script.ppid || leader.state !== 'Z' || worker.pgrp === script.pgrp) {
    throw new Error(`script ${String(scriptPid)} is not in its worker's group for scripts: ${JSON.stringify({ script, leader, worker })}`);
  }
  return script.pgrp;
}

/** The live direct children of `ppid`. */
export function childPids(ppid: number): number[] {
  return listProcesses()
    .filter((p) => p.ppid === ppid)
    .map((p) => p.pid);
}

/**
 * Resolves once none of `pids` is alive and process group `pgid` (if given) has no live member.
 *
 * @param timeoutMs - the bound, in milliseconds
 * @throws Error naming the survivors when the bound passes
 */
export async function waitForProcessesGone(
  pids: readonly number[],
  pgid: number | undefined,
  timeoutMs: number,
): Promise<void> {
  try {
    await waitUntil(
      'processes gone',
      () =>
        pids.every((pid) => !isProcessAlive(pid)) &&
        (pgid === undefined || processGroupMembers(pgid).length === 0),
      timeoutMs,
    );
  } catch (err) {
    const alive = pids.filter(isProcessAlive);
    const group = pgid === undefined ? [] : processGroupMembers(pgid);
    throw new Error(
      `processes still alive after ${timeoutMs} ms: pids ${alive.join(',')} group ${group.join(',')}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Sends `signal` to `pid` and ignores "no such process"; used by cleanups that must not throw.
 *
 * @returns true when the signal was delivered
 */
export function killQuietly(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resident memory of `pid` now (`VmRSS` of `/proc/<pid>/status`), in bytes, or `undefined`
 * when the process does not exist.
 */
export function residentBytes(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(text)?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}
