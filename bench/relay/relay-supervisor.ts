// This file implements the supervisor under the relay micro-bench from the perspective of a
// measurement that must see the supervisor alone: the BUILT supervisor (dist/, the code the
// daemon runs) constructed as `cgi-fpm start` does, but with SupervisorDeps.workerMain pointing
// at the null worker. Every worker is `node WORKER_MAIN`, python pools' too (the daemon as
// shipped spawns the python worker for those: see supervisor/pool/worker-command.ts).
// Usage: `node relay-supervisor.js CONFIG WORKER_MAIN`; SIGTERM stops it.
import { spawn, type SpawnOptions } from 'node:child_process';

type LoadModule = typeof import('../../src/config/load.ts');
type LoggerModule = typeof import('../../src/log/logger.ts');
type SupervisorModule = typeof import('../../src/supervisor/lifecycle/supervisor.ts');

/** The built module `path` (relative to dist/), typed as its source. */
async function built<T>(path: string): Promise<T> {
  // This file runs from dist-bench/bench/relay/: the repository is three levels up.
  return (await import(new URL(`../../../dist/${path}`, import.meta.url).href)) as T;
}

async function main(): Promise<void> {
  const [configFile, workerMain] = process.argv.slice(2);
  if (configFile === undefined || workerMain === undefined)
    throw new TypeError('usage: relay-supervisor CONFIG WORKER_MAIN');
  const { loadConfig } = await built<LoadModule>('config/load.js');
  const { createLogger } = await built<LoggerModule>('log/logger.js');
  const { Supervisor } = await built<SupervisorModule>('supervisor/lifecycle/supervisor.js');
  const config = await loadConfig(configFile);
  const log = createLogger({ level: config.global.logLevel, pretty: false });
  const supervisor = new Supervisor(config, {
    log,
    // The control channel is the last stdio entry (the fd the real command names first).
    spawn: (_file: string, _args: readonly string[], options: SpawnOptions) =>
      spawn(process.execPath, [workerMain, String((options.stdio as readonly unknown[]).length - 1)], options),
    env: process.env,
    workerMain,
    pretty: false,
    now: () => Date.now(),
    load: loadConfig,
  });
  process.once('SIGTERM', () => {
    supervisor.stop();
  });
  await supervisor.start();
  await supervisor.stopped;
}

main().catch((err: unknown) => {
  process.stderr.write(
    `relay-supervisor: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
