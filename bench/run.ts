// This file implements `npm run bench` from the perspective of someone comparing runtimes:
// install the missing tools, start cgi-fpm, fcgiwrap and nginx on loopback, measure every
// target in turn with wrk, print one table with the ratios, write it as JSON, stop everything.
import { availableParallelism, cpus } from 'node:os';
import { backendContext, startBackends } from './backends.ts';
import { Cleanup } from './cleanup.ts';
import { cpuBusy } from './cpu-busy.ts';
import { startFront, urlOf } from './front.ts';
import { findInterpreters, findVersions } from './interpreters.ts';
import { measureTargets, type Row, type Settings } from './measure.ts';
import { computeRatios } from './ratios.ts';
import { writeResults } from './results.ts';
import { formatTable, type RunInfo } from './table.ts';
import { TARGETS, type Target } from './targets.ts';
import { ensureTools } from './tools.ts';
import { createWorkspace } from './workspace.ts';

/**
 * Issue 3's setting: 2 workers per pool, wrk's 2 threads and 8 connections, bounded runs; each
 * target measured for 4 × 2 s in interleaved rounds (8 s in all, as one 8 s run before).
 */
const SETTINGS: Settings = {
  workers: 2,
  load: { threads: 2, connections: 8, durationS: 2, timeoutS: 10 },
  rounds: 4,
  warmupS: 2,
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

/** Runs every target with the servers up; the servers stop when `cleanup` runs. */
async function measureAll(
  targets: readonly Target[],
  cleanup: Cleanup,
  info: Pick<RunInfo, 'settings'>,
): Promise<{ rows: Row[]; versions: RunInfo['versions']; busyAtStart: number }> {
  const tools = await ensureTools(say);
  const interpreters = await findInterpreters();
  const versions = findVersions(tools, interpreters);
  // Before any server starts (the workers' start-up would count): only others' work shows.
  const busyAtStart = await cpuBusy(1000);
  const workspace = await createWorkspace(interpreters);
  cleanup.add('scratch directory', () => workspace.dir.remove());
  const backends = await startBackends(
    targets,
    workspace,
    tools,
    interpreters,
    info.settings.workers,
    cleanup,
  );
  const front = await startFront(targets, workspace);
  cleanup.add('nginx', () => front.nginx.stop());
  const candidates = front.sites.map((site) => ({
    target: site.target,
    context: { wrk: tools.wrk, url: urlOf(site), ...backendContext(site.target, backends) },
  }));
  const rows = await measureTargets(candidates, info.settings, say, () => cleanup.running);
  for (const row of rows) if (!row.ok) say(`bench: ${row.target.label}: ${row.error}`);
  return { rows, versions, busyAtStart };
}

/** The whole run; resolves with the exit code (1 when a row failed). */
async function main(cleanup: Cleanup): Promise<number> {
  const targets = selectTargets(process.argv.slice(2));
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
  const { rows, versions, busyAtStart } = measured;
  const info: RunInfo = { ...base, versions, busyAtStart };
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
