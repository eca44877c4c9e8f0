// This file implements a standalone worker from the perspective of a test that plays the web
// server spawning it, as spawn-fcgi and Apache mod_fcgid do: bind a unix socket, put it on
// fd 0, exec the built `cgi-fpm worker --pool NAME -c FILE`, and read its pino lines on stderr.
import { spawn } from 'node:child_process';
import { LogCollector, type LogEntry } from './log-collector.ts';
import { CLI_MAIN } from './paths.ts';
import { EVENT_TIMEOUT_MS } from './wait.ts';

/**
 * The launcher (python3, stdlib only): binds and listens on `argv[2]`, moves the socket to
 * fd 0 and execs `argv[3:]`. With `argv[1] == "fork"` it first forks and the parent waits, so
 * the test can kill the worker's parent (as when Apache's process manager dies).
 */
const LAUNCHER = `
import os, socket, sys
mode, path, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
if mode == "fork" and os.fork() != 0:
    s.close()
    os.wait()
    sys.exit(0)
os.dup2(s.fileno(), 0)
os.execv(argv[0], argv)
`;

/** Options for {@link startStandaloneWorker}. */
export interface StandaloneWorkerOptions {
  /** Where the listening socket is bound (the launcher creates it). */
  readonly socketPath: string;
  readonly configFile: string;
  readonly pool: string;
  /** Fork before exec so the worker's parent is a separate process. @defaultValue false */
  readonly fork?: boolean;
}

/** A standalone worker (or its forking launcher) that was started. */
export interface StandaloneWorker {
  /** PID of the process spawned: the worker itself, or the launcher's parent with `fork`. */
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal) of the spawned process. */
  readonly exited: Promise<number | null>;
  /** Every JSON line on stderr so far. */
  readonly logs: readonly LogEntry[];
  /** Resolves with the first log entry (index `since` or later) matching `predicate`. */
  waitForLog(predicate: (entry: LogEntry) => boolean, timeoutMs?: number, since?: number): Promise<LogEntry>;
  /** Non-JSON stderr and stdout, for diagnostics. */
  output(): string;
}

/**
 * Spawns `python3 -c LAUNCHER MODE SOCKET node dist/cli/main.js worker --pool P -c FILE` and
 * resolves once the worker logs "worker ready".
 * @throws Error with the collected output when it exits first or is not ready in 15 s
 */
export async function startStandaloneWorker(options: StandaloneWorkerOptions): Promise<StandaloneWorker> {
  const args = [
    '-c',
    LAUNCHER,
    options.fork === true ? 'fork' : 'exec',
    options.socketPath,
    process.execPath,
    CLI_MAIN,
    'worker',
    '--pool',
    options.pool,
    '-c',
    options.configFile,
  ];
  const child = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`worker: spawn python3 failed: ${error.message}`, { cause: error });
  }
  const collector = new LogCollector();
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    collector.push(chunk);
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      collector.end('worker exited before the log line appeared');
      resolve(code);
    });
  });
  const output = (): string =>
    [...collector.entries.slice(-20).map((e) => JSON.stringify(e)), ...collector.otherLines, stdout].join(
      '\n',
    );
  const waitForLog = (
    predicate: (entry: LogEntry) => boolean,
    timeoutMs = EVENT_TIMEOUT_MS,
    since = 0,
  ): Promise<LogEntry> => collector.waitFor(predicate, timeoutMs, since, output);
  try {
    await waitForLog((e) => e.msg === 'worker ready', EVENT_TIMEOUT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { pid, exited, logs: collector.entries, waitForLog, output };
}
