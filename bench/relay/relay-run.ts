// This file implements `npm run bench -- relay` from the perspective of someone reducing the
// supervisor's cost per relayed request: a FastCGI client (fcgi-load.ts) drives the supervisor
// over kept-alive connections, with no web server in between, against three back ends in
// interleaved rounds — the null worker behind a python pool (the script resolved on disk) and
// behind a handler pool, and a real handler worker with the smallest handler — and reports
// the supervisor's, the workers' and the client's CPU per request; then what a bare Node
// ping-pong costs per round trip on this machine (socket-floor.ts), for scale.
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { nginxLikeParams } from '../../test/integration/helpers/cgi-params.ts';
import { encodeRequest } from '../../test/integration/helpers/fastcgi-wire.ts';
import { benchConfig, startCgiFpm } from '../cgi-fpm.ts';
import { Cgroups } from '../cgroups.ts';
import type { Cleanup } from '../cleanup.ts';
import { addSplits, cpuBetween, takeSnapshot, type CpuSplit } from '../cpu-sample.ts';
import { findInterpreters } from '../interpreters.ts';
import { median, roundOrder } from '../rounds.ts';
import { cgiFpmWatch, type ServerWatch } from '../sides.ts';
import type { Target } from '../targets.ts';
import { createWorkspace, type Workspace } from '../workspace.ts';
import { runFcgiLoad, type FcgiLoadResult } from './fcgi-load.ts';
import { formatRelay, writeRelayResults, type RelayRow } from './relay-report.ts';
import { measureSocketFloor, type SocketFloor } from './socket-floor.ts';

/** The null worker and the supervisor entry that forks it (both run from dist-bench/bench/relay/). */
const NULL_WORKER = fileURLToPath(new URL('./null-worker.js', import.meta.url));
const RELAY_SUPERVISOR = fileURLToPath(new URL('./relay-supervisor.js', import.meta.url));

/** One back end the supervisor relays to. */
export interface RelayVariant {
  readonly id: string;
  readonly label: string;
  /** The pool (its runtime decides how the supervisor resolves the script). */
  readonly pool: Target;
  /** True: SupervisorDeps.workerMain is the null worker; false: the daemon as shipped. */
  readonly nullWorker: boolean;
}

export const VARIANTS: readonly RelayVariant[] = [
  {
    id: 'null-python',
    label: 'null worker, python pool',
    pool: {
      id: 'relay-python',
      label: 'relay python',
      backend: 'cgi-fpm',
      runtime: 'python',
      path: '/hello.py',
    },
    nullWorker: true,
  },
  {
    id: 'null-handler',
    label: 'null worker, handler pool',
    pool: {
      id: 'relay-nhandler',
      label: 'relay null handler',
      backend: 'cgi-fpm',
      runtime: 'handler',
      path: '/hello',
    },
    nullWorker: true,
  },
  {
    id: 'handler',
    label: 'smallest handler (real worker)',
    pool: {
      id: 'relay-handler',
      label: 'relay handler',
      backend: 'cgi-fpm',
      runtime: 'handler',
      path: '/hello',
    },
    nullWorker: false,
  },
];

/** How long and how hard. */
export const RELAY_SETTINGS = {
  workers: 2,
  connections: 8,
  sliceMs: 3000,
  rounds: 4,
  warmupMs: 2000,
} as const;

interface Started {
  readonly variant: RelayVariant;
  readonly watch: ServerWatch;
  readonly request: Buffer;
  readonly socket: string;
}

/** A slice: the load's counts, the CPU of the supervisor's tree, the client's own CPU (µs). */
export interface RelaySlice {
  readonly load: FcgiLoadResult;
  readonly cpu: CpuSplit;
  readonly clientUs: number;
}

async function startVariant(
  variant: RelayVariant,
  workspace: Workspace,
  cgroups: Cgroups | undefined,
  cleanup: Cleanup,
): Promise<Started> {
  const interpreters = await findInterpreters();
  const config = benchConfig([variant.pool], workspace, interpreters, RELAY_SETTINGS.workers);
  const cgroup = await cgroups?.group(variant.id);
  const main = variant.nullWorker ? (file: string) => [RELAY_SUPERVISOR, file, NULL_WORKER] : undefined;
  // RELAY_CPU_PROF=DIR: the supervisor writes a V8 CPU profile there when it stops.
  const profileDir = process.env.RELAY_CPU_PROF;
  const daemon = await startCgiFpm(config, workspace.serverDir(variant.id), {
    cgroup,
    ...(profileDir === undefined || profileDir === '' ? {} : { nodeFlags: ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${profileDir}`] }),
    ...(main === undefined ? {} : { main }),
  });
  cleanup.add(variant.id, () => daemon.child.stop());
  const root = variant.pool.runtime === 'handler' ? workspace.appRoot : workspace.cgiBin;
  const request = encodeRequest(
    1,
    Object.entries(nginxLikeParams(root, variant.pool.path)),
    Buffer.alloc(0),
    true,
  );
  return {
    variant,
    watch: cgiFpmWatch(daemon.child.pid, cgroup),
    request,
    socket: workspace.socket(variant.pool.id),
  };
}

async function slice(started: Started, durationMs: number): Promise<RelaySlice> {
  const before = await takeSnapshot([started.watch]);
  const client = process.cpuUsage();
  const load = await runFcgiLoad({
    socket: started.socket,
    request: started.request,
    connections: RELAY_SETTINGS.connections,
    durationMs,
  });
  const used = process.cpuUsage(client);
  const after = await takeSnapshot([started.watch]);
  return { load, cpu: cpuBetween([started.watch], before, after), clientUs: used.user + used.system };
}

/** Sums a variant's slices into its row. */
export function relayRow(variant: RelayVariant, slices: readonly RelaySlice[]): RelayRow {
  const requests = slices.reduce((n, s) => n + s.load.requests, 0);
  const cpu = addSplits(slices.map((s) => s.cpu));
  const per = (us: number): number => (requests > 0 ? us / requests : Number.NaN);
  return {
    id: variant.id,
    label: variant.label,
    rps: median(slices.map((s) => (s.load.elapsedMs > 0 ? (s.load.requests * 1000) / s.load.elapsedMs : 0))),
    requests,
    errors: slices.reduce((n, s) => n + s.load.errors, 0),
    supervisorUs: per(cpu.us.manager),
    workersUs: per(cpu.us.workers + cpu.us.runtime),
    clientUs: per(slices.reduce((n, s) => n + s.clientUs, 0)),
    sliceSupervisorUs: slices.map((s) =>
      s.load.requests > 0 ? s.cpu.us.manager / s.load.requests : Number.NaN,
    ),
  };
}

/**
 * Runs the relay micro-bench (`args`: variant ids, default all); resolves with the exit code
 * (1 when a variant failed or answered errors).
 */
export async function runRelayBench(
  args: readonly string[],
  cleanup: Cleanup,
  say: (line: string) => void,
): Promise<number> {
  const unknown = args.filter((id) => !VARIANTS.some((v) => v.id === id));
  if (unknown.length > 0)
    throw new TypeError(
      `bench relay: unknown variant ${unknown.join(', ')}; variants: ${VARIANTS.map((v) => v.id).join(', ')}`,
    );
  const variants = args.length === 0 ? VARIANTS : VARIANTS.filter((v) => args.includes(v.id));
  const startedAt = new Date();
  const rows: RelayRow[] = [];
  const failures: string[] = [];
  let floor: SocketFloor | undefined;
  try {
    const workspace = await createWorkspace(await findInterpreters());
    cleanup.add('scratch directory', () => workspace.dir.remove());
    const cgroups = await Cgroups.create(say);
    if (cgroups !== undefined) cleanup.add('cgroups', () => cgroups.remove());
    const ready: Started[] = [];
    for (const variant of variants) {
      try {
        const started = await startVariant(variant, workspace, cgroups, cleanup);
        say(`bench relay: warming up ${variant.label}`);
        await sleep(500); // the workers say ready after the socket accepts
        await runFcgiLoad({
          socket: started.socket,
          request: started.request,
          connections: RELAY_SETTINGS.connections,
          durationMs: RELAY_SETTINGS.warmupMs,
        });
        ready.push(started);
      } catch (err) {
        failures.push(`${variant.label}: ${(err as Error).message}`);
      }
    }
    const slices = new Map<string, RelaySlice[]>(ready.map((s) => [s.variant.id, []]));
    for (let round = 0; round < RELAY_SETTINGS.rounds && !cleanup.running; round++) {
      say(`bench relay: round ${round + 1} of ${RELAY_SETTINGS.rounds}`);
      for (const started of roundOrder(ready, round))
        slices.get(started.variant.id)?.push(await slice(started, RELAY_SETTINGS.sliceMs));
    }
    for (const started of ready) rows.push(relayRow(started.variant, slices.get(started.variant.id) ?? []));
    say('bench relay: calibration (Node ping-pong over a socketpair)');
    floor = await measureSocketFloor(RELAY_SETTINGS.sliceMs).catch((err: unknown) => {
      failures.push(`calibration: ${(err as Error).message}`);
      return undefined;
    });
  } finally {
    await cleanup.run(say);
  }
  process.stdout.write(`\n${formatRelay(rows, failures, floor)}\n\n`);
  say(`bench relay: results written to ${await writeRelayResults(startedAt, rows, failures, floor)}`);
  return failures.length === 0 && rows.every((r) => r.errors === 0) ? 0 : 1;
}
