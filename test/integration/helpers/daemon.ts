// This file implements the running daemon from the perspective of an integration test: it
// starts the BUILT cgi-fpm (`dist/cli/main.js start -c FILE`), collects its pino JSON log lines
// and stderr, waits for log events, and stops it by PID.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { writeConfigFile, type TomlDocument } from './config-file.ts';
import { LogCollector, type LogEntry } from './log-collector.ts';
import { CLI_MAIN } from './paths.ts';
import { EVENT_TIMEOUT_MS } from './wait.ts';

export type { LogEntry } from './log-collector.ts';

/** How the daemon process ended. */
export interface ExitStatus {
  /** Exit code, or null when it died by a signal. */
  readonly code: number | null;
  /** The signal that killed it, or null. */
  readonly signal: NodeJS.Signals | null;
}

/** Options for {@link startDaemon}. */
export interface DaemonOptions {
  /** Directory the config file is written to (relative config paths resolve against it). */
  readonly dir: string;
  /** The config: a TOML document object or TOML text. */
  readonly config: string | TomlDocument;
  /** File name of the config inside `dir`. @defaultValue `"cgi-fpm.toml"` */
  readonly configName?: string;
  /** Extra CLI arguments after `start -c FILE` (e.g. `["--http", "127.0.0.1:8080"]`). */
  readonly args?: readonly string[];
  /** Extra environment variables for the daemon (merged over `process.env`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Bound on "ready to handle connections", in milliseconds. @defaultValue {@link EVENT_TIMEOUT_MS} */
  readonly readyTimeoutMs?: number;
  /**
   * A program the daemon is started through, with its arguments; `node main.js start …` are
   * appended (e.g. `["systemd-socket-activate", "-l", "/tmp/x/a.sock"]`, which execs it).
   */
  readonly launcher?: readonly string[];
  /**
   * Resolve only once the daemon logs "ready to handle connections". Turn off when it starts
   * later (socket activation starts it on the first connection). @defaultValue true
   */
  readonly awaitReady?: boolean;
}

/** A started daemon. */
export interface Daemon {
  /** PID of the supervisor process. */
  readonly pid: number;
  /** Absolute path of the config file it runs. */
  readonly configFile: string;
  /** Every JSON log line so far, in order. */
  readonly logs: readonly LogEntry[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** Stdout lines that were not JSON, and everything on stderr, for diagnostics. */
  output(): string;
  /**
   * Resolves with the first log entry at index `since` or later that satisfies `predicate`,
   * already logged or still to come.
   *
   * @param timeoutMs - bound in milliseconds @defaultValue {@link EVENT_TIMEOUT_MS}
   * @param since - index into {@link Daemon.logs} to start from @defaultValue 0
   * @throws Error with the collected output when the bound passes or the daemon exits first
   */
  waitForLog(predicate: (entry: LogEntry) => boolean, timeoutMs?: number, since?: number): Promise<LogEntry>;
  /**
   * SIGTERM to the PID, wait for exit (SIGKILL after {@link EVENT_TIMEOUT_MS}); resolves with
   * the exit code (null when it had to be killed by a signal). Idempotent.
   */
  stop(): Promise<number | null>;
}

/** The operator notice the daemon logs once every pool's workers said ready. */
export const READY_MESSAGE = 'ready to handle connections';

/** How long {@link Daemon.stop} waits after SIGTERM before SIGKILL (a hang, not a slow stop). */
const STOP_GRACE_MS = EVENT_TIMEOUT_MS;

/**
 * Writes the config and starts the built daemon; resolves once it logs
 * "ready to handle connections".
 *
 * @throws Error with the collected stdout/stderr if it exits first or is not ready in time
 *   (the process is killed in that case)
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const configFile = join(options.dir, options.configName ?? 'cgi-fpm.toml');
  await writeConfigFile(configFile, options.config);
  const argv = [process.execPath, CLI_MAIN, 'start', '-c', configFile, ...(options.args ?? [])];
  const [command = process.execPath, ...rest] = [...(options.launcher ?? []), ...argv];
  const child = spawn(command, rest, {
    cwd: options.dir,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`daemon: spawn failed: ${error.message}`, { cause: error });
  }

  const collector = new LogCollector();
  const logs = collector.entries;
  let stderr = '';
  let exitStatus: ExitStatus | undefined;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    collector.push(chunk);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });

  // 'exit' gives the status; 'close' (all stdio closed) may never come if a worker outlived
  // the supervisor and holds the pipe, so wait for it only briefly to collect the last lines.
  const closed = new Promise<void>((resolve) =>
    child.once('close', () => {
      resolve();
    }),
  );
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      void Promise.race([closed, delay(1000)]).then(() => {
        exitStatus = { code, signal };
        collector.end('exited before the log line appeared');
        resolve(exitStatus);
      });
    });
  });

  const output = (): string =>
    [
      `daemon pid ${pid} (${configFile})${exitStatus ? ` exited code=${exitStatus.code} signal=${exitStatus.signal}` : ''}`,
      `--- last log lines ---`,
      ...logs.slice(-40).map((l) => JSON.stringify(l)),
      `--- other stdout ---`,
      ...collector.otherLines.slice(-40),
      `--- stderr ---`,
      stderr.slice(-8000),
    ].join('\n');

  const waitForLog = (
    predicate: (entry: LogEntry) => boolean,
    timeoutMs = EVENT_TIMEOUT_MS,
    since = 0,
  ): Promise<LogEntry> => collector.waitFor(predicate, timeoutMs, since, output);

  let stopping: Promise<number | null> | undefined;
  const stop = (): Promise<number | null> => {
    stopping ??= (async () => {
      if (exitStatus === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      return (await exited).code;
    })();
    return stopping;
  };

  const daemon: Daemon = { pid, configFile, logs, exited, output, waitForLog, stop };
  if (options.awaitReady === false) return daemon;
  try {
    await waitForLog((e) => e.msg === READY_MESSAGE, options.readyTimeoutMs ?? EVENT_TIMEOUT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`daemon: not ready: ${(err as Error).message}`, { cause: err });
  }
  return daemon;
}
