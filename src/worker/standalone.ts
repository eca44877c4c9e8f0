// This file implements the standalone worker (`cgi-fpm worker --pool NAME -c FILE`) from the
// perspective of a process that Apache mod_fcgid (or spawn-fcgi, supervisord's `fcgi-program`)
// started with a listening socket on fd 0: accept connections there and serve them one at a
// time with the pool's runtime, resolving scripts itself since no supervisor does, and leave on
// SIGTERM once the request in flight has ended.
import { createServer, type Socket } from 'node:net';
import type { LevelWithSilent } from 'pino';
import type { PoolConfig } from '../config/schema.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { FcgiResponderConnection } from './fcgi-connection.ts';
import { resolvePoolScript } from './resolve.ts';
import { adoptPoolIdentity } from './standalone-identity.ts';
import { createRuntime } from './runtimes/index.ts';
import type { RuntimeHost } from './runtimes/types.ts';
import { RequestServer } from './serve.ts';
import { openScript } from './script-file.ts';

/** Options of {@link runStandaloneWorker}. */
export interface StandaloneOptions {
  /** The config's `log_level`. */
  readonly logLevel: LevelWithSilent;
  /**
   * How often the worker checks that its parent (mod_fcgid's process manager) is alive, in
   * milliseconds. @defaultValue 1000
   */
  readonly parentCheckMs?: number;
}

/** How a standalone worker ended: 0 after a stop, 70 when it could not start. */
export type StandaloneExit = 0 | 70;

/** Lines go to stderr: mod_fcgid connects stdout and stderr to Apache's error log. */
const LOG_FD = 2;

/** Bound on the last connection's lingering close when leaving, in milliseconds. */
const CLOSE_GRACE_MS = 2000;

/** Every connection's options (one request at a time): one object, resolved once. */
const CONNECTION_OPTIONS = { values: { FCGI_MAX_CONNS: '1', FCGI_MAX_REQS: '1' } };

/**
 * Serves `pool` on the listening socket inherited as fd 0 until SIGTERM or SIGINT (mod_fcgid
 * stops its processes with SIGTERM) or until the parent process is gone.
 *
 * One request at a time: connections accepted while one is served wait, paused, in arrival
 * order; a connection is served until it closes (several requests with `FCGI_KEEP_CONN`), as
 * libfcgi's accept loop does. Each request's `SCRIPT_FILENAME` (Apache's `proxy:fcgi://host`
 * prefix stripped) is resolved against the pool's `root` and `match` here: 404 `script not
 * found`, 403 `script refused`. `listen`, `pm.*` and `queue.*` do not apply: the web server
 * spawns, counts and recycles processes (`FcgidMaxRequestsPerProcess`, `FcgidIdleTimeout`).
 * `request_terminate_timeout`, `env`, `clear_env`, `stderr`, `umask`, `user` (taken when started
 * as root, else it must be this process's) and the runtime settings do.
 * Log lines (pino JSON) go to stderr, which mod_fcgid connects to Apache's error log.
 *
 * @returns 0 after SIGTERM/SIGINT (the request in flight finished first) or when the parent is
 *   gone (the request in flight aborted); 70 (EX_SOFTWARE) when the runtime cannot start, the
 *   pool's `user` cannot be taken, or fd 0 is not a listening socket.
 */
export async function runStandaloneWorker(
  pool: PoolConfig,
  options: StandaloneOptions,
): Promise<StandaloneExit> {
  const log = createLogger({
    level: options.logLevel,
    pretty: process.stderr.isTTY,
    base: { pool: pool.name },
    destination: LOG_FD,
  });
  let runtime: RuntimeHost;
  let inherited: NodeJS.ProcessEnv;
  try {
    inherited = adoptPoolIdentity(pool, process.env);
    // No supervisor to ask: leave as when mod_fcgid stops us, after the request in flight.
    runtime = await createRuntime(pool, { log, inherited, recycle: () => { process.kill(process.pid, 'SIGTERM'); } });
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'worker failed to start');
    return 70;
  }
  const server = new RequestServer(pool, {
    log,
    inherited,
    now: () => Date.now(),
    runtime: runtime.run,
    openScript,
    resolve: (params) => resolvePoolScript(pool, params),
    afterRequest: () => { runtime.afterEnd?.(); },
  });
  return new Promise<StandaloneExit>((resolve) => {
    const loop = new StandaloneLoop(server, log, async (code) => {
      await runtime.close().catch((err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'runtime close failed');
      });
      resolve(code);
    });
    loop.start(pool.runtime, options.parentCheckMs ?? 1000);
  });
}

/** The accept loop over fd 0: a queue of waiting connections and the one being served. */
class StandaloneLoop {
  private readonly listener = createServer({ pauseOnConnect: true });
  private readonly waiting: Socket[] = [];
  private active: { socket: Socket; connection: FcgiResponderConnection } | undefined;
  private stopping = false;
  private left = false;
  private readonly server: RequestServer;
  private readonly log: Logger;
  private readonly done: (code: StandaloneExit) => Promise<void>;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.stop(signal);
  };

  constructor(server: RequestServer, log: Logger, done: (code: StandaloneExit) => Promise<void>) {
    this.server = server;
    this.log = log;
    this.done = done;
  }

  /** Listens on fd 0, installs the signal handlers and the parent check. */
  start(runtime: string, parentCheckMs: number): void {
    this.listener.on('connection', (socket: Socket) => {
      // A waiting socket is paused, yet a reset could still be reported: never let it throw.
      socket.on('error', () => undefined);
      // Unref'd while it waits: a connection accepted during a node script's run is not one of
      // the resources the script left running (process.getActiveResourcesInfo lists ref'd
      // handles only), which held that run open (and recycled the worker) before.
      socket.unref();
      if (this.stopping) socket.destroy();
      else this.waiting.push(socket);
      this.next();
    });
    this.listener.once('error', (err: Error) => {
      const reason =
        'fd 0 is not a listening socket (cgi-fpm worker is run by Apache mod_fcgid or spawn-fcgi)';
      this.log.error({ err: err.message, reason }, 'worker failed to start');
      this.leave(70);
    });
    this.listener.once('listening', () => {
      this.log.info({ runtime, listen: 'fd 0' }, 'worker ready');
    });
    this.listener.listen({ fd: 0 });
    process.on('SIGTERM', this.onSignal);
    process.on('SIGINT', this.onSignal);
    const parent = process.ppid;
    const check = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(check);
      this.server.abortAll();
      this.stop('parent gone');
    }, parentCheckMs);
    check.unref();
  }

  /** Serves the next waiting connection once the last one closed and its request ended. */
  private next(): void {
    if (this.active !== undefined || this.stopping) return;
    const socket = this.waiting.shift();
    if (socket === undefined) return;
    const connection = new FcgiResponderConnection(socket, CONNECTION_OPTIONS);
    socket.ref();
    this.active = { socket, connection };
    connection.on('request', this.server.handle);
    connection.on('protocol-error', (err: Error) => {
      this.log.error({ err: err.message }, 'protocol error');
    });
    connection.on('close', () => {
      // An aborted request may still be stopping its script: the next one waits for it.
      this.server.stopWhenIdle(() => {
        this.active = undefined;
        this.next();
      });
    });
    socket.resume();
  }

  /** Stops accepting, drops waiting connections, and leaves once the request in flight ended. */
  private stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info({ reason }, 'worker stopping');
    this.listener.close();
    for (const socket of this.waiting.splice(0)) socket.destroy();
    this.server.stopWhenIdle(() => {
      const active = this.active;
      if (active === undefined || active.socket.destroyed) {
        this.leave(0);
        return;
      }
      // Close the connection once its END_REQUEST is out (a kept-alive one would stay open);
      // a request whose params were still arriving is served first.
      const { socket, connection } = active;
      let timer: NodeJS.Timeout | undefined;
      const close = (): void => {
        socket.end();
        timer = setTimeout(() => {
          socket.destroy();
        }, CLOSE_GRACE_MS);
      };
      socket.once('close', () => {
        clearTimeout(timer);
        this.server.stopWhenIdle(() => {
          this.leave(0);
        });
      });
      if (connection.idle) close();
      else connection.once('idle', close);
    });
  }

  private leave(code: StandaloneExit): void {
    if (this.left) return;
    this.left = true;
    process.off('SIGTERM', this.onSignal);
    process.off('SIGINT', this.onSignal);
    this.listener.close();
    void this.done(code);
  }
}
