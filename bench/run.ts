// This file implements `npm run bench` from the perspective of someone comparing cgi-fpm with
// its peers: install the missing tools, start each cgi-fpm daemon, fcgiwrap, PHP-FPM, Apache
// with mod_wsgi and nginx on loopback and unix sockets, measure every target in interleaved
// slices with wrk (CPU of every side around each), print one report with the ratios, write it
// as JSON, stop everything. `npm run bench -- relay` runs the relay micro-bench instead, and
// `npm run bench -- profile [TARGET…]` the profile run (docs/PERFORMANCE.md).
import { availableParallelism, cpus } from 'node:os';
import { backendContext, startBackends } from './backends.ts';
import { Cgroups } from './cgroups.ts';
import { Cleanup } from './cleanup.ts';
import { cpuBusy } from './cpu-busy.ts';
import { measureForkCost } from './fork-cost.ts';
import { startFront, urlOf, type Front } from './front.ts';
import { findInterpreters, findVersions } from './interpreters.ts';
import { measureTargets, type Candidate, type Row, type Settings } from './measure.ts';
import { computeRatios } from './ratios.ts';
import { runProfile } from './profile/profile-run.ts';
import { runRelayBench } from './relay/relay-run.ts';
import { writeResults } from './results.ts';
import { nginxWatch } from './sides.ts';
import { formatTable, type RunInfo } from './table.ts';
import { frontOf, TARGETS, type Target } from './targets.ts';
import { ensureTools, type ToolName } from './tools.ts';
import { createWorkspace } from './workspace.ts';

/**
 * Issue 3's setting: 2 workers per pool, wrk's 2 threads and 8 connections, bounded runs; each
 * target measured for 4 × 2 s in interleaved rounds (8 s in all, as one 8 s run before).
 * Each target is first loaded for 15 s, the same for every row: a Node process (the supervisor,
 * a node or handler worker) reaches its steady cost only after 10–16 s of load (V8 optimizes
 * the request path in waves; docs/PERFORMANCE.md, session 26), and with a 2 s warm-up the
 * node rows' slices rose up to 3× from the first round to the last. PHP-FPM, mod_wsgi and
 * fcgiwrap get the same 15 s.
 */
const SETTINGS: Settings = {
  workers: 2,
  load: { threads: 2, connections: 8, durationS: 2, timeoutS: 10 },
  rounds: 4,
  warmupS: 15,
  probeTimeoutMs: 20_000,
};

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * The targets named on the command line (`npm run bench -- python-exec python-persistent`), or
 * all of them.
 *
 * @throws TypeError naming the valid ids for an unknown one
 */
function selectTargets(ids: readonly string[]): readonly Target[] {
  const unknown = ids.filter((id) => !TARGETS.some((t) => t.id === id));
  if (unknown.length > 0) {
    throw new TypeError(
      `bench: unknown target ${unknown.join(', ')}; targets: ${TARGETS.map((t) => t.id).join(', ')}`,
    );
  }
  return ids.length === 0 ? TARGETS : TARGETS.filter((t) => ids.includes(t.id));
}

/** The peers' tools the targets need (nginx and wrk are always needed). */
function toolsFor(targets: readonly Target[]): Set<ToolName> {
  const names = new Set<ToolName>();
  for (const { backend } of targets) {
    if (backend === 'fcgiwrap') names.add('fcgiwrap');
    if (backend === 'php-fpm') names.add('phpFpm');
    if (backend === 'mod_wsgi') {
      names.add('apache');
      names.add('modWsgi');
    }
  }
  return names;
}

/** Each target with its URL and the servers to read: nginx (when it fronts it), then its backend. */
function candidatesOf(
  targets: readonly Target[],
  front: Front | undefined,
  backends: Parameters<typeof backendContext>[1],
  wrk: string,
): Candidate[] {
  return targets.map((target) => {
    const backend = backendContext(target, backends);
    if (frontOf(target) === 'apache') {
      const url =
        backend.port === undefined ? 'http://127.0.0.1/' : `http://127.0.0.1:${backend.port}${target.path}`;
      return { target, context: { wrk, url, ...backend } };
    }
    const site = front?.sites.find((s) => s.target.id === target.id);
    if (front === undefined || site === undefined) {
      return {
        target,
        context: { wrk, url: 'http://127.0.0.1/', ...backend, startError: 'bench: nginx not started' },
      };
    }
    const watches = [nginxWatch(front.nginx.pid, front.cgroup), ...backend.watches];
    return { target, context: { wrk, url: urlOf(site), ...backend, watches } };
  });
}

/** Runs every target with the servers up; the servers stop when `cleanup` runs. */
async function measureAll(
  targets: readonly Target[],
  cleanup: Cleanup,
  info: Pick<RunInfo, 'settings'>,
): Promise<Pick<RunInfo, 'versions' | 'busyAtStart' | 'cpuMethod' | 'forkCost'> & { rows: Row[] }> {
  const tools = await ensureTools(toolsFor(targets), say);
  const interpreters = await findInterpreters();
  const versions = findVersions(tools, interpreters);
  // Before any server starts (the workers' start-up would count): only others' work shows.
  const busyAtStart = await cpuBusy(1000);
  const forkCost = await measureForkCost(interpreters.python);
  const workspace = await createWorkspace(interpreters);
  cleanup.add('scratch directory', () => workspace.dir.remove());
  const cgroups = await Cgroups.create(say);
  if (cgroups !== undefined) cleanup.add('cgroups', () => cgroups.remove());
  const setup = { workspace, tools, interpreters, workers: info.settings.workers, cgroups };
  const backends = await startBackends(targets, setup, cleanup);
  const nginxTargets = targets.filter((t) => frontOf(t) === 'nginx');
  const front = nginxTargets.length === 0 ? undefined : await startFront(nginxTargets, workspace, cgroups);
  if (front !== undefined) cleanup.add('nginx', () => front.nginx.stop());
  const candidates = candidatesOf(targets, front, backends, tools.wrk);
  const rows = await measureTargets(candidates, info.settings, say, () => cleanup.running);
  for (const row of rows) if (!row.ok) say(`bench: ${row.target.label}: ${row.error}`);
  const cpuMethod =
    cgroups === undefined
      ? '/proc per process; scripts nobody waits for are missed'
      : 'cgroup v2 per server, split by /proc per process';
  return { rows, versions, busyAtStart, cpuMethod, forkCost };
}

/** The whole run; resolves with the exit code (1 when a row failed). */
async function main(cleanup: Cleanup): Promise<number> {
  const args = process.argv.slice(2);
  if (args[0] === 'relay') return runRelayBench(args.slice(1), cleanup, say);
  if (args[0] === 'profile') return runProfile(args.slice(1), cleanup, say);
  const targets = selectTargets(args);
  const startedAt = new Date();
  const base = {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    settings: SETTINGS,
  };
  let measured;
  try {
    measured = await measureAll(targets, cleanup, base);
  } finally {
    await cleanup.run(say);
  }
  const { rows, ...measuredInfo } = measured;
  const info: RunInfo = { ...base, ...measuredInfo };
  const ratios = computeRatios(rows);
  process.stdout.write(`\n${formatTable(rows, ratios, info)}\n\n`);
  say(`bench: results written to ${await writeResults(startedAt, rows, ratios, info)}`);
  return rows.every((r) => r.ok) ? 0 : 1;
}

const cleanup = new Cleanup();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`bench: ${signal}, stopping everything started`);
    void cleanup.run(say).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
main(cleanup).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
