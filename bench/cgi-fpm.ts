// This file implements the cgi-fpm under test from the perspective of the bench: one built
// daemon per cgi-fpm target (so each row's supervisor, workers and runtime children are its
// own, in its own cgroup), a pool of 2 workers on a unix socket, started from a generated
// config and stopped by PID.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeConfigFile, type TomlDocument } from '../test/integration/helpers/config-file.ts';
import { LogCollector, type LogEntry } from '../test/integration/helpers/log-collector.ts';
import type { Cgroup } from './cgroups.ts';
import { startChild, type Child } from './child.ts';
import type { Interpreters } from './interpreters.ts';
import { waitForSockets } from './sockets.ts';
import type { Target } from './targets.ts';
import type { Workspace } from './workspace.ts';

/**
 * The built CLI. The bench runs from `dist-bench/bench/`, so the repository is two levels up
 * (the integration helpers' own CLI_MAIN assumes they run from `test/`, hence not reused).
 */
const CLI_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

const READY_TIMEOUT_MS = 20_000;

/** A running daemon. */
export interface CgiFpm {
  /** The supervisor's PID and its lifecycle. */
  readonly child: Child;
  /** Warnings and errors the daemon (or its workers) logged for pool `pool`, as short lines. */
  problems(pool: string): string[];
}

/**
 * Extra `node` flags and environment for the daemon: `--cpu-prof` for the profile run; the
 * workers get `NODE_OPTIONS` through the daemon's environment.
 */
export interface DaemonOptions {
  readonly cgroup?: Cgroup | undefined;
  readonly nodeFlags?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The node script and its arguments for a config file; default: `dist/cli/main.js start -c
   * CONFIG` (the relay bench runs its own supervisor entry instead).
   */
  readonly main?: (configFile: string) => readonly string[];
}

/** One `[pools.ID]` table for `target`. */
function poolTable(
  target: Target,
  workspace: Workspace,
  interpreters: Interpreters,
  workers: number,
): TomlDocument {
  const isHandler = target.runtime === 'handler';
  return {
    listen: workspace.socket(target.id),
    root: isHandler ? workspace.appRoot : workspace.cgiBin,
    ...(isHandler ? {} : { match: [target.path.slice(1)] }),
    runtime: target.runtime ?? 'exec',
    'pm.max_children': workers,
    // A pool whose workers cannot start answers 503 within the probe's bound.
    'queue.timeout': '10s',
    // The python worker of exec pools runs the same python3 as the python rows.
    ...(target.runtime === 'python' || (target.runtime ?? 'exec') === 'exec' ? { 'python.executable': interpreters.python } : {}),
    ...(target.execWorker === undefined ? {} : { 'exec.worker': target.execWorker }),
    ...(target.isolation === undefined ? {} : { isolation: target.isolation }),
    ...(isHandler ? { 'handler.module': workspace.handlerModule } : {}),
    ...(target.dispatch === undefined ? {} : { dispatch: target.dispatch, pm: 'static' }),
  };
}

/**
 * The daemon's config. `log_level = "warn"`: the per-request log lines are off, as nginx's
 * access log is, so the rows measure the runtimes rather than the logging; problems still show.
 */
export function benchConfig(
  targets: readonly Target[],
  workspace: Workspace,
  interpreters: Interpreters,
  workers: number,
): TomlDocument {
  const pools = Object.fromEntries(
    targets.map((t) => [t.id, poolTable(t, workspace, interpreters, workers)]),
  );
  return { global: { log_level: 'warn' }, pools };
}

function describe(entry: LogEntry): string {
  const detail = entry.err ?? entry.cause ?? entry.reason;
  const text = typeof detail === 'string' ? detail : detail === undefined ? '' : JSON.stringify(detail);
  return `${entry.msg ?? 'log'}${text === '' ? '' : `: ${text}`}`;
}

/**
 * Writes the config and starts the daemon; resolves once every pool's socket accepts. Workers
 * may still be starting; a target's probe request waits for them.
 *
 * @throws Error with the daemon's output when it exits or does not listen within 20 s
 */
export async function startCgiFpm(
  config: TomlDocument,
  dir: string,
  options: DaemonOptions = {},
): Promise<CgiFpm> {
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'cgi-fpm.toml');
  await writeConfigFile(configFile, config);
  const logs = new LogCollector();
  const main = options.main?.(configFile) ?? [CLI_MAIN, 'start', '-c', configFile];
  const command: [string, string[]] = [process.execPath, [...(options.nodeFlags ?? []), ...main]];
  const [file, args] = options.cgroup?.wrap(...command) ?? command;
  const child = await startChild(file, args, {
    onStdout: (chunk) => {
      logs.push(chunk);
    },
    ...(options.env === undefined
      ? {}
      : { env: { ...process.env, ...options.env } as Record<string, string> }),
  });
  const problems = (pool: string): string[] =>
    logs.entries.filter((e) => e.pool === pool && typeof e.level === 'number' && e.level >= 40).map(describe);
  const pools = config.pools as Record<string, { listen: string }>;
  try {
    await waitForSockets(
      Object.values(pools).map((p) => p.listen),
      () => child.gone(),
      READY_TIMEOUT_MS,
    );
  } catch (err) {
    await child.stop();
    const said = [...logs.entries.map(describe), ...logs.otherLines, child.output()].join('\n').slice(-4000);
    throw new Error(`cgi-fpm: not listening: ${(err as Error).message}\n${said}`, { cause: err });
  }
  return { child, problems };
}
