// This file implements memory per process from the perspective of the report (and of the later
// rows that compare process models): after a target's last slice, each process of its servers
// with its side, command and RSS/PSS/USS; PSS and USS are what a fork-sharing design changes.
import { allProcesses, commandLine, processTree, readMemory, type ProcMemory } from './proc.ts';
import type { ServerWatch, Side } from './sides.ts';

/** One process's memory. */
export interface ProcessMemory extends ProcMemory {
  readonly pid: number;
  readonly server: string;
  readonly side: Side;
  /** Its depth below its server's root process (cgi-fpm: supervisor 0, workers 1…). */
  readonly depth: number;
  /** Its command line, cut to 80 characters. */
  readonly command: string;
}

/** Memory of the processes `watches` name as this target's (unreadable ones left out). */
export async function sampleMemory(watches: readonly ServerWatch[]): Promise<ProcessMemory[]> {
  const processes = await allProcesses();
  const out: ProcessMemory[] = [];
  for (const watch of watches) {
    for (const member of processTree(watch.rootPid, processes)) {
      if (member.stat.state === 'Z') continue;
      const command = await commandLine(member.stat.pid);
      const side = watch.side(member, command);
      const memory = side === undefined ? undefined : await readMemory(member.stat.pid);
      if (side === undefined || memory === undefined) continue;
      out.push({ pid: member.stat.pid, server: watch.name, side, depth: member.depth, command: command.slice(0, 80), ...memory });
    }
  }
  return out;
}

/** Sums of one group of processes, in KiB. */
export interface MemoryTotal extends ProcMemory {
  readonly processes: number;
}

/** The total of the processes for which `keep` holds. */
export function totalMemory(
  processes: readonly ProcessMemory[],
  keep: (p: ProcessMemory) => boolean,
): MemoryTotal {
  const kept = processes.filter(keep);
  const sum = (pick: (p: ProcessMemory) => number): number => kept.reduce((total, p) => total + pick(p), 0);
  return {
    processes: kept.length,
    rssKb: sum((p) => p.rssKb),
    pssKb: sum((p) => p.pssKb),
    ussKb: sum((p) => p.ussKb),
  };
}

/**
 * The per-request children of an `isolation = "fork"` row: the deepest processes of the
 * cgi-fpm tree (after load, the pre-forked child waiting for the next request). Their PSS and
 * USS are what a request's fork costs beyond the pages it shares with the warm runner.
 */
export function requestChildren(processes: readonly ProcessMemory[]): ProcessMemory[] {
  const own = processes.filter((p) => p.server === 'cgi-fpm' && p.side === 'runtime');
  const deepest = Math.max(...own.map((p) => p.depth));
  return own.filter((p) => p.depth === deepest);
}
