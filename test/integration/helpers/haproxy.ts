// This file implements a private, real HAProxy (Debian's haproxy package) from the perspective
// of an integration test: its own config in a temporary directory, HTTP on a unix socket,
// started in the foreground (optionally inside a network namespace) and stopped by PID.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { waitUntil } from './wait.ts';

/** The HAProxy binary the tests run. */
export const HAPROXY_BIN = '/usr/sbin/haproxy';

/** Options for {@link startHaproxy}. */
export interface HaproxyOptions {
  /** Directory (created if missing) for haproxy.cfg. */
  readonly dir: string;
  /** Unix socket the HTTP frontend binds; HAProxy is ready once it accepts there. */
  readonly httpSocket: string;
  /** Everything after the `global`/`defaults` sections: fcgi-app, backends, a frontend on `httpSocket`. */
  readonly config: string;
  /** A program HAProxy is started through (e.g. `["ip", "netns", "exec", NS]`). @defaultValue none */
  readonly launcher?: readonly string[];
  /** Bound on readiness, in milliseconds. @defaultValue 10000 */
  readonly readyTimeoutMs?: number;
}

/** A running HAProxy. */
export interface Haproxy {
  readonly pid: number;
  readonly httpSocket: string;
  /** What HAProxy printed (its logs go to stderr). */
  output(): string;
  /** SIGUSR1 (soft stop), SIGTERM after 5 s, SIGKILL after 10 s; resolves with the exit code. Idempotent. */
  stop(): Promise<number | null>;
}

/** `global` and `defaults` for a test: logs to stderr, HTTP mode, short timeouts that still bound every wait. */
export function haproxyBase(): string {
  return `global
    log stderr format raw local0 info
    maxconn 1000

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout queue 10s
`;
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * Starts `haproxy -db -f DIR/haproxy.cfg` and resolves once its HTTP socket accepts.
 * @throws Error with HAProxy's output if it exits first or is not ready in time
 */
export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  await mkdir(options.dir, { recursive: true, mode: 0o755 });
  const cfg = join(options.dir, 'haproxy.cfg');
  await writeFile(cfg, `${haproxyBase()}\n${options.config}\n`);
  const argv = [...(options.launcher ?? []), HAPROXY_BIN, '-db', '-f', cfg];
  const child = spawn(argv[0] ?? HAPROXY_BIN, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out = (out + c).slice(-200_000)));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out = (out + c).slice(-200_000)));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('haproxy: spawn failed');
  let stopping: Promise<number | null> | undefined;
  const stop = (): Promise<number | null> => {
    stopping ??= (async () => {
      if (exitCode === undefined) {
        child.kill('SIGUSR1');
        const term = setTimeout(() => child.kill('SIGTERM'), 5000);
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(term);
        clearTimeout(kill);
      }
      return exited;
    })();
    return stopping;
  };
  try {
    await waitUntil(`haproxy accepting on ${options.httpSocket}`, async () => {
      if (exitCode !== undefined) throw new Error(`haproxy exited with code ${String(exitCode)} before it was ready`);
      return canConnect(options.httpSocket);
    }, options.readyTimeoutMs ?? 10_000);
  } catch (err) {
    await stop();
    throw new Error(`haproxy: not ready: ${(err as Error).message}\n${out}`, { cause: err });
  }
  return { pid, httpSocket: options.httpSocket, output: () => out, stop };
}
