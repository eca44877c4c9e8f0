// This file implements the whole system under test from the perspective of one suite: a temp
// dir with a fixture root, the built daemon serving it on a unix socket, and a real nginx in
// front, started together and stopped together (by PID), whatever failed half-way.
import { realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TomlDocument } from './config-file.ts';
import { startDaemon, type Daemon } from './daemon.ts';
import { copyFixtures } from './fixtures.ts';
import { httpRequest, type HttpRequestOptions, type HttpResponse } from './http.ts';
import { freeLoopbackPort } from './free-port.ts';
import { fastcgiSite } from './nginx-site.ts';
import { startNginx, type Nginx } from './nginx.ts';
import { createTempDir, type TempDir } from './temp-dir.ts';

/** Options for {@link startStack}. */
export interface StackOptions {
  /** Keys merged over {@link defaultPool} for the single pool `main`. */
  readonly pool?: TomlDocument;
  /**
   * The whole `[pools]` table instead (order matters: the first pool whose root contains the
   * script takes it). May prepare directories it refers to.
   */
  readonly pools?: (paths: StackPaths) => TomlDocument | Promise<TomlDocument>;
  /** nginx keeps FastCGI connections open (`keepalive 16` + `fastcgi_keep_conn on`). @defaultValue false */
  readonly keepAlive?: boolean;
  /** Extra arguments for `cgi-fpm start`. */
  readonly daemonArgs?: readonly string[];
  /** Extra environment variables for the daemon process. */
  readonly daemonEnv?: Readonly<Record<string, string>>;
  /** Keys merged over `log_level = "info"` in `[global]` (e.g. `control_socket`). */
  readonly global?: TomlDocument;
  /** nginx also listens on a free 127.0.0.1 port ({@link Stack.tcpPort}). @defaultValue false */
  readonly tcp?: boolean;
}

/** Where a stack's files and sockets live. */
export interface StackPaths {
  /** The temp dir everything lives in (realpath). */
  readonly dir: string;
  /** Pool root (a copy of fixtures/cgi-bin; nginx's document root). */
  readonly root: string;
  /** Scripts beside the root that must never run. */
  readonly outside: string;
  /** The daemon's FastCGI unix socket. */
  readonly fastcgiSocket: string;
}

/** A running daemon + nginx over a private fixture tree. */
export interface Stack extends StackPaths {
  readonly daemon: Daemon;
  readonly nginx: Nginx;
  /** nginx's 127.0.0.1 port, when started with `tcp`. */
  readonly tcpPort: number | undefined;
  /** An HTTP request to nginx (`socketPath` filled in). */
  request(path: string, options?: Omit<HttpRequestOptions, 'socketPath' | 'path'>): Promise<HttpResponse>;
  /** Stops nginx and the daemon, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * `PATH` for CGI scripts: `clear_env` leaves them only what the pool's `env` gives, and
 * `#!/usr/bin/env node` must find the node running the tests.
 */
export const SCRIPT_PATH = [
  ...new Set([dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin']),
].join(':');

/** Every script extension the fixtures use; `readme.txt` stays outside on purpose. */
export const FIXTURE_MATCH = ['*.py', '*.pl', '*.sh', '*.cgi', '*.js'];

/** The pool the suites share unless they override keys: exec runtime, 2 workers. */
export function defaultPool(root: string, fastcgiSocket: string): TomlDocument {
  return {
    listen: fastcgiSocket,
    'listen.mode': '0666',
    root,
    match: FIXTURE_MATCH,
    runtime: 'exec',
    pm: { max_children: 2 },
    request_terminate_timeout: '30s',
    env: { PATH: SCRIPT_PATH, GREETING: 'hello from the pool env' },
    clear_env: true,
  };
}

/**
 * Copies the fixtures, starts the daemon on them, then nginx in front; on any failure stops
 * whatever already started and removes the temp dir before rethrowing.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const tmp: TempDir = await createTempDir();
  let daemon: Daemon | undefined;
  let nginx: Nginx | undefined;
  const stopAll = async (): Promise<void> => {
    await nginx?.stop();
    await daemon?.stop();
    if (process.env.CGI_FPM_IT_KEEP_TMP === undefined) await tmp.remove();
  };
  try {
    const dir = await realpath(tmp.path);
    const { root, outside } = await copyFixtures(dir);
    const fastcgiSocket = join(dir, 'fpm.sock');
    const httpSocket = join(dir, 'http.sock');
    const paths: StackPaths = { dir, root, outside, fastcgiSocket };
    const pools = options.pools
      ? await options.pools(paths)
      : { main: { ...defaultPool(root, fastcgiSocket), ...options.pool } };
    daemon = await startDaemon({
      dir,
      config: { global: { log_level: 'info', ...options.global }, pools },
      ...(options.daemonArgs ? { args: options.daemonArgs } : {}),
      ...(options.daemonEnv ? { env: options.daemonEnv } : {}),
    });
    const tcpPort = options.tcp === true ? await freeLoopbackPort() : undefined;
    nginx = await startNginx({
      dir: join(dir, 'nginx'),
      httpSocket,
      site: fastcgiSite({
        httpSocket, fastcgiSocket, root, keepAlive: options.keepAlive ?? false,
        ...(tcpPort === undefined ? {} : { tcpPort }),
      }),
    });
    const started: Nginx = nginx;
    let stopped: Promise<void> | undefined;
    return {
      dir,
      root,
      outside,
      fastcgiSocket,
      daemon,
      nginx,
      tcpPort,
      request: (path, requestOptions) =>
        httpRequest({ ...requestOptions, socketPath: started.httpSocket, path }),
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
