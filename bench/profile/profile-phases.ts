// This file implements the four looks of a profile run from the perspective of one cgi-fpm
// target under wrk through nginx, each on a freshly started daemon: CPU per process and per
// main thread from /proc, `node --cpu-prof` of the supervisor and the workers, `strace -c` of
// every process, and `perf record` of every process.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { benchConfig, startCgiFpm, type DaemonOptions } from '../cgi-fpm.ts';
import type { Interpreters } from '../interpreters.ts';
import { probe } from '../probe.ts';
import { allProcesses, commandLine, processCpuUs, processTree, threadCpuUs } from '../proc.ts';
import type { Target } from '../targets.ts';
import type { Workspace } from '../workspace.ts';
import { runWrk, type WrkLoad, type WrkResult } from '../wrk.ts';
import { mergeSummaries, profilePid, readProfile, type ProfileSummary } from './cpuprofile.ts';
import { perfRecord, perfReport, sharesOf, type PerfLine } from './perf.ts';
import { startStrace, type SyscallCount } from './strace.ts';

/** A process of the daemon by its place: supervisor, worker, runtime child (python runner, script). */
export type Role = 'supervisor' | 'workers' | 'runtime';
export const ROLES: readonly Role[] = ['supervisor', 'workers', 'runtime'];

export interface Member {
  readonly pid: number;
  readonly role: Role;
  readonly command: string;
}

/** What every phase needs. */
export interface PhaseContext {
  readonly workspace: Workspace;
  readonly interpreters: Interpreters;
  readonly wrk: string;
  /** The target's URL on the bench's nginx. */
  readonly url: string;
  readonly load: WrkLoad;
  /** Where profiles and traces go. */
  readonly dir: string;
  readonly say: (line: string) => void;
}

async function membersOf(root: number): Promise<Member[]> {
  const tree = processTree(root, await allProcesses()).filter((m) => m.stat.state !== 'Z');
  const role = (depth: number): Role => (depth === 0 ? 'supervisor' : depth === 1 ? 'workers' : 'runtime');
  return Promise.all(
    tree.map(async (m) => ({
      pid: m.stat.pid,
      role: role(m.depth),
      command: (await commandLine(m.stat.pid)).slice(0, 60),
    })),
  );
}

/** Starts the target's daemon, probes it, warms it up, runs `body`, stops the daemon. */
async function withDaemon<T>(
  ctx: PhaseContext,
  target: Target,
  phase: string,
  options: DaemonOptions,
  body: (members: Member[]) => Promise<T>,
): Promise<T> {
  const config = benchConfig([target], ctx.workspace, ctx.interpreters, 2);
  const daemon = await startCgiFpm(config, join(ctx.dir, `${target.id}-${phase}`), options);
  try {
    await probe(ctx.url, 20_000);
    await runWrk(ctx.wrk, ctx.url, { ...ctx.load, durationS: 2 });
    return await body(await membersOf(daemon.child.pid));
  } finally {
    await daemon.child.stop();
  }
}

/** CPU of one role per request, in µs: all threads, and the main thread alone. */
export interface RoleCpu {
  readonly processes: number;
  readonly ownUs: number;
  readonly mainThreadUs: number;
}

export interface CpuLook {
  readonly wrk: WrkResult;
  readonly roles: Readonly<Record<Role, RoleCpu>>;
}

/** Each member's CPU so far in µs: all its threads, and its main thread. */
async function cpuOf(members: readonly Member[]): Promise<{ own: number; main: number }[]> {
  return Promise.all(
    members.map(async (m) => ({
      own: (await processCpuUs(m.pid)) ?? 0,
      main: (await threadCpuUs(m.pid, m.pid)) ?? 0,
    })),
  );
}

/** /proc before and after one wrk run: each role's CPU per request. */
export async function cpuLook(ctx: PhaseContext, target: Target): Promise<CpuLook> {
  return withDaemon(ctx, target, 'cpu', {}, async (members) => {
    const before = await cpuOf(members);
    const wrk = await runWrk(ctx.wrk, ctx.url, ctx.load);
    const after = await cpuOf(members);
    const perRequest = (us: number): number => us / Math.max(1, wrk.requests);
    const roles = Object.fromEntries(
      ROLES.map((role) => {
        let own = 0;
        let main = 0;
        for (const [i, m] of members.entries()) {
          if (m.role !== role) continue;
          own += (after[i]?.own ?? 0) - (before[i]?.own ?? 0);
          main += (after[i]?.main ?? 0) - (before[i]?.main ?? 0);
        }
        const processes = members.filter((m) => m.role === role).length;
        return [role, { processes, ownUs: perRequest(own), mainThreadUs: perRequest(main) }];
      }),
    ) as Record<Role, RoleCpu>;
    return { wrk, roles };
  });
}

export interface ProfileLook {
  readonly wrk: WrkResult;
  /** Node processes only: the python runner and scripts are not profiled here. */
  readonly roles: Partial<Record<Role, ProfileSummary>>;
}

/** The profiler preload (this runs from dist-bench/bench/profile/). */
const PRELOAD = new URL('./cpu-prof-preload.js', import.meta.url).href;

/**
 * V8's sampling profiler (every 250 µs) in the supervisor and the workers, loaded through
 * NODE_OPTIONS (cpu-prof-preload.ts); only the samples taken during the load count.
 */
export async function profileLook(ctx: PhaseContext, target: Target): Promise<ProfileLook> {
  const dir = join(ctx.dir, `${target.id}-cpuprof`);
  await mkdir(dir, { recursive: true });
  const env = { NODE_OPTIONS: `--import=${PRELOAD}`, CGI_FPM_BENCH_PROF_DIR: dir };
  let members: Member[] = [];
  let window = { fromUs: 0, toUs: 0 };
  const wrk = await withDaemon(ctx, target, 'prof', { env }, async (found) => {
    members = found;
    const from = process.hrtime.bigint();
    const result = await runWrk(ctx.wrk, ctx.url, ctx.load);
    window = { fromUs: Number(from / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) };
    return result;
  });
  const byRole = new Map<Role, ProfileSummary[]>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const member = members.find((m) => m.pid === profilePid(name));
    if (member === undefined) continue;
    byRole.set(member.role, [...(byRole.get(member.role) ?? []), await readProfile(join(dir, name), window)]);
  }
  return { wrk, roles: Object.fromEntries([...byRole].map(([role, list]) => [role, mergeSummaries(list)])) };
}

export interface StraceLook {
  readonly wrk: WrkResult;
  readonly roles: Partial<Record<Role, readonly SyscallCount[]>>;
}

function mergeCounts(lists: readonly (readonly SyscallCount[])[]): SyscallCount[] {
  const by = new Map<string, SyscallCount>();
  for (const row of lists.flat()) {
    const seen = by.get(row.syscall);
    by.set(
      row.syscall,
      seen === undefined
        ? row
        : {
            ...seen,
            calls: seen.calls + row.calls,
            errors: seen.errors + row.errors,
            seconds: seen.seconds + row.seconds,
          },
    );
  }
  return [...by.values()].sort((a, b) => b.calls - a.calls);
}

/** `strace -c -f` on every process of the daemon during one wrk run. */
export async function straceLook(ctx: PhaseContext, target: Target, strace: string): Promise<StraceLook> {
  return withDaemon(ctx, target, 'strace', {}, async (members) => {
    const runs = await Promise.all(
      members.map((m) => startStrace(strace, m.pid, join(ctx.dir, `${target.id}-strace-${m.pid}.txt`))),
    );
    const wrk = await runWrk(ctx.wrk, ctx.url, ctx.load);
    const counts = await Promise.all(runs.map((r) => r.stop()));
    const roles = Object.fromEntries(
      ROLES.map((role) => [role, mergeCounts(counts.filter((_, i) => members[i]?.role === role))]),
    );
    return { wrk, roles };
  });
}

export interface PerfLook {
  readonly wrk: WrkResult;
  /** Per role: shared objects with their share of the role's samples (%). */
  readonly dso: Partial<Record<Role, readonly PerfLine[]>>;
  /** Per role: the symbols with the most samples (% of the role's samples). */
  readonly symbols: Partial<Record<Role, readonly PerfLine[]>>;
}

/** `perf record -e cpu-clock` of every process (node with --perf-basic-prof) during one wrk run. */
export async function perfLook(ctx: PhaseContext, target: Target, perf: string): Promise<PerfLook> {
  const file = join(ctx.dir, `${target.id}.perf.data`);
  return withDaemon(ctx, target, 'perf', { env: { NODE_OPTIONS: '--perf-basic-prof' } }, async (members) => {
    const [wrk] = await Promise.all([
      runWrk(ctx.wrk, ctx.url, ctx.load),
      perfRecord(
        perf,
        members.map((m) => m.pid),
        ctx.load.durationS,
        file,
      ),
    ]);
    const dso: Partial<Record<Role, PerfLine[]>> = {};
    const symbols: Partial<Record<Role, PerfLine[]>> = {};
    const [byDso, bySymbol] = [await perfReport(perf, file, 'dso'), await perfReport(perf, file, 'dso,sym')];
    for (const role of ROLES) {
      const pids = members.filter((m) => m.role === role).map((m) => m.pid);
      if (pids.length === 0) continue;
      dso[role] = sharesOf(byDso, pids);
      symbols[role] = sharesOf(bySymbol, pids).slice(0, 15);
    }
    // --perf-basic-prof's symbol maps are ours to remove.
    await Promise.all(members.map((m) => rm(`/tmp/perf-${m.pid}.map`, { force: true })));
    return { wrk, dso, symbols };
  });
}
