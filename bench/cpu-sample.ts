// This file implements CPU per side from the perspective of one measured slice: the processes
// of the target's servers (and their cgroups' totals) read right before and right after wrk,
// and the difference split by side. A process alive at both reads counts its own CPU in
// between (all its threads, from schedstat); one born in between counts all of it; CPU that no
// live process shows (children that ran and exited) comes from the cgroup, or without one from
// the workers' reaped children.
import { allProcesses, commandLine, processCpuUs, processTree, TICKS_PER_SECOND } from './proc.ts';
import { SIDES, type ServerWatch, type Side } from './sides.ts';

/** One process at one read. */
export interface ProcPoint {
  /** Index of its server in the watch list. */
  readonly server: number;
  readonly side: Side | undefined;
  /** CPU of its own threads, in µs. */
  readonly ownUs: number;
  /** CPU of the children it waited for (`cutime + cstime`), in µs (10 ms steps). */
  readonly childUs: number;
}

/** Everything read at one moment. */
export interface CpuSnapshot {
  /** Each server's cgroup usage in µs, undefined without a cgroup. */
  readonly cgroupUs: readonly (number | undefined)[];
  /** Processes by `pid:startTicks` (a PID reused in between is another process). */
  readonly procs: ReadonlyMap<string, ProcPoint>;
}

/** CPU used between two snapshots, in µs, per side. */
export interface CpuSplit {
  readonly us: Readonly<Record<Side, number>>;
  /** Cgroup CPU no side claims (a server without a remainder side): should stay near 0. */
  readonly unattributedUs: number;
}

const US_PER_TICK = 1_000_000 / TICKS_PER_SECOND;

/** Reads every watched server's processes and cgroup. */
export async function takeSnapshot(watches: readonly ServerWatch[]): Promise<CpuSnapshot> {
  const cgroupUs = await Promise.all(watches.map((w) => w.cgroup?.usageUs() ?? Promise.resolve(undefined)));
  const processes = await allProcesses();
  const procs = new Map<string, ProcPoint>();
  for (const [server, watch] of watches.entries()) {
    for (const member of processTree(watch.rootPid, processes)) {
      const line = watch.readsCommandLines ? await commandLine(member.stat.pid) : '';
      const { pid, startTicks, ownTicks, childTicks } = member.stat;
      const ownUs = (await processCpuUs(pid)) ?? ownTicks * US_PER_TICK;
      procs.set(`${pid}:${startTicks}`, {
        server,
        side: watch.side(member, line),
        ownUs,
        childUs: childTicks * US_PER_TICK,
      });
    }
  }
  return { cgroupUs, procs };
}

function zero(): Record<Side, number> {
  return { front: 0, manager: 0, workers: 0, runtime: 0 };
}

/** The CPU between `before` and `after`, split by side (pure; `watches` as for the snapshots). */
export function cpuBetween(
  watches: readonly Pick<ServerWatch, 'remainder'>[],
  before: CpuSnapshot,
  after: CpuSnapshot,
): CpuSplit {
  const us = zero();
  const seenUs = watches.map(() => 0);
  const reapedUs = watches.map(() => 0);
  for (const [key, point] of after.procs) {
    const earlier = before.procs.get(key);
    const ownUs = point.ownUs - (earlier?.ownUs ?? 0);
    seenUs[point.server] = (seenUs[point.server] ?? 0) + ownUs;
    if (point.side !== undefined) us[point.side] += ownUs;
    if (point.side === 'workers') {
      reapedUs[point.server] = (reapedUs[point.server] ?? 0) + point.childUs - (earlier?.childUs ?? 0);
    }
  }
  let unattributedUs = 0;
  for (const [server, watch] of watches.entries()) {
    const start = before.cgroupUs[server];
    const end = after.cgroupUs[server];
    if (start !== undefined && end !== undefined) {
      const rest = end - start - (seenUs[server] ?? 0);
      if (watch.remainder === undefined) unattributedUs += rest;
      else us[watch.remainder] += Math.max(0, rest);
    } else if (watch.remainder !== undefined) {
      us[watch.remainder] += reapedUs[server] ?? 0;
    }
  }
  return { us, unattributedUs };
}

/** The sum of several splits. */
export function addSplits(splits: readonly CpuSplit[]): CpuSplit {
  const us = zero();
  let unattributedUs = 0;
  for (const split of splits) {
    for (const side of SIDES) us[side] += split.us[side];
    unattributedUs += split.unattributedUs;
  }
  return { us, unattributedUs };
}
