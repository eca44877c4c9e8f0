// This file implements a worker of a `dispatch = "direct"` pool from the perspective of the web
// server connecting to the pool's socket: the worker accepts on the socket the supervisor bound
// and passed it (PHP-FPM's children do the same), runs up to `handler.concurrency` requests at
// once (a `node` pool's worker one: its scripts share the process's globals) with the request
// machinery the standalone worker uses (scripts resolved here, `ping.path` answered here), keeps
// a scoreboard the supervisor's heartbeat reads, and
// leaves — after the connections it accepted are served — when told to stop or once it reached
// its `pm.max_requests`.
import { createServer, type Server, type Socket } from 'node:net';
import type { PoolConfig } from '../config/schema.ts';
import { formatListenAddress } from '../config/listen.ts';
import { cgiResponse } from '../cgi/error-page.ts';
import type { Logger } from '../log/logger.ts';
import { ClientFilter } from '../supervisor/listen/client-filter.ts';
import { NO_CACHE } from '../supervisor/pages/status-page.ts';
import { Scoreboard } from './direct-scoreboard.ts';
import { FcgiResponderConnection, type FcgiConnectionOptions, type FcgiRequest } from './fcgi-connection.ts';
import type { StateMessage, WorkerMessage } from './ipc.ts';
import { resolvePoolScript } from './resolve.ts';
import type { RuntimeHost } from './runtimes/types.ts';
import { openScript } from './script-file.ts';
import { RequestServer } from './serve.ts';

/** What a direct worker needs besides its pool. */
export interface DirectDeps {
  readonly log: Logger;
  readonly runtime: RuntimeHost;
  /** Sends a control message to the supervisor (`recycle` once `pm.max_requests` is reached). */
  readonly send: (message: WorkerMessage) => void;
  readonly now: () => number;
  /** This worker's `pm.max_requests` (the supervisor's jitter applied); 0 = none. */
  readonly maxRequests: number;
  /** Where held output spills (`[global] fastcgi_temp_path`, else the system's temporary directory). */
  readonly tempPath: string;
  /** Called once the worker stopped accepting and every connection it took is closed. */
  readonly done: () => void;
  /** Called after each request ended (the worker checks `pm.max_memory`). */
  readonly afterRequest?: () => void;
}

/** One of the places a request runs in (`handler.concurrency`; 1 for the node runtime). */
interface Slot {
  readonly server: RequestServer;
  /** The request it runs now. */
  request: FcgiRequest | undefined;
}

/**
 * How many requests one worker runs at once: `handler.concurrency` for a handler module; one for
 * the node runtime, whose scripts see the process's globals, `process.env` and stdio as theirs.
 */
function slotsOf(pool: PoolConfig): number {
  return pool.runtime === 'handler' ? pool.handler.concurrency : 1;
}

/** Bound on a connection's lingering close when the worker leaves, in milliseconds. */
const CLOSE_GRACE_MS = 2000;
/** While leaving: how long a connection that sent nothing yet may take to send its request, ms. */
const FRESH_GRACE_MS = 10_000;

/**
 * The accept loop of a direct worker on the listening socket `fd`. Every accepted connection
 * is read at once (an idle kept-alive connection costs nothing and pins nothing); up to
 * `handler.concurrency` requests run at a time (one under `runtime = "node"`), the others wait in
 * arrival order. Connections not accepted yet wait in the kernel's listen backlog.
 */
export class DirectWorker {
  readonly scoreboard: Scoreboard;
  readonly #pool: PoolConfig;
  readonly #deps: DirectDeps;
  readonly #listener: Server;
  readonly #slots: Slot[];
  readonly #pending: FcgiRequest[] = [];
  /** Open connections and whether one sent a request yet (an idle fresh one may be about to). */
  readonly #connections = new Map<Socket, { connection: FcgiResponderConnection; used: boolean }>();
  readonly #filter: ClientFilter | undefined;
  /** Every accepted connection's options: one object, resolved once (fcgi-connection-options.ts). */
  readonly #connectionOptions: FcgiConnectionOptions;
  /** Not accepting any more: stopped, or `pm.max_requests` reached. */
  #closed = false;
  #stopping = false;
  #left = false;

  constructor(pool: PoolConfig, deps: DirectDeps) {
    this.#pool = pool;
    this.#deps = deps;
    this.scoreboard = new Scoreboard(deps.now);
    this.#listener = createServer({ noDelay: true });
    const address = formatListenAddress(pool.listen.address);
    this.#filter = pool.listen.address.kind === 'tcp' && pool.listen.allowedClients !== undefined
      ? new ClientFilter(address, pool.listen.allowedClients, deps.log, deps.now) : undefined;
    this.#slots = Array.from({ length: slotsOf(pool) }, () => this.#slot());
    this.#connectionOptions = {
      values: { FCGI_MAX_CONNS: String(Math.max(1, pool.listen.maxConnections)), FCGI_MAX_REQS: String(this.#slots.length) },
      // The web server's own connection: a response waits for its body (fcgi-held-channel.ts).
      holdOutputTempPath: deps.tempPath,
    };
  }

  /** Starts accepting on `fd`; `listen.max_connections` bounds the connections it holds. */
  start(fd: number): void {
    const max = this.#pool.listen.maxConnections;
    if (max > 0) this.#listener.maxConnections = max;
    this.#listener.on('connection', (socket: Socket) => { this.#accept(socket); });
    this.#listener.on('error', (err: Error) => {
      this.#deps.log.error({ err: err.message }, 'direct: accept failed');
    });
    this.#listener.listen({ fd });
  }

  /** The scoreboard as the supervisor's heartbeat reads it. */
  state(): StateMessage {
    return this.scoreboard.state();
  }

  /**
   * Stops accepting (the socket stays open in the supervisor and the other workers), serves
   * the requests of the connections already accepted, closes kept-alive ones once idle, then
   * calls `done`.
   */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#close();
    this.#leaveIfDone();
  }

  #slot(): Slot {
    const slot: Slot = {
      request: undefined,
      server: new RequestServer(this.#pool, {
        log: this.#deps.log, inherited: process.env, now: this.#deps.now, runtime: this.#deps.runtime.run,
        openScript, resolve: (params) => resolvePoolScript(this.#pool, params),
        afterRequest: () => { this.#ended(slot); },
      }),
    };
    return slot;
  }

  #accept(socket: Socket): void {
    socket.on('error', () => undefined);
    // Never what keeps this process alive (its control channel does): unref'd, a connection
    // accepted while a node script runs is not counted among the resources that script left
    // running (process.getActiveResourcesInfo lists ref'd handles only), as in standalone.ts.
    socket.unref();
    if (this.#filter !== undefined && !this.#filter.admit(socket)) return;
    this.scoreboard.accepted += 1;
    const connection = new FcgiResponderConnection(socket, this.#connectionOptions);
    const entry = { connection, used: false };
    this.#connections.set(socket, entry);
    connection.on('request', (req: FcgiRequest) => {
      entry.used = true;
      this.#request(req);
    });
    connection.on('protocol-error', (err: Error) => {
      this.#deps.log.error({ err: err.message }, 'protocol error');
    });
    connection.on('hold-failed', (err: Error) => {
      this.#deps.log.error({ err: err.message, dir: this.#deps.tempPath }, 'output hold failed');
    });
    // Leaving (stopped or used up): a kept-alive connection closes after its response.
    connection.on('idle', () => { if (this.#closed) this.#endSoon(socket); });
    connection.on('close', () => {
      this.#connections.delete(socket);
      this.#leaveIfDone();
    });
    if (this.#closed) this.#endSoon(socket, FRESH_GRACE_MS);
  }

  #request(req: FcgiRequest): void {
    const pingPath = this.#pool.status.pingPath;
    if (pingPath !== undefined && req.pairs.get('SCRIPT_NAME')?.toString('latin1') === pingPath) {
      this.scoreboard.started(req, req);
      req.stdout.write(cgiResponse(200, 'text/plain', Buffer.from(this.#pool.status.pingResponse), NO_CACHE));
      req.end(0);
      this.scoreboard.ended(req);
      return;
    }
    const slot = this.#slots.find((s) => s.request === undefined);
    if (slot === undefined) this.#pending.push(req);
    else this.#run(slot, req);
  }

  #run(slot: Slot, req: FcgiRequest): void {
    slot.request = req;
    this.scoreboard.started(req, req);
    slot.server.handle(req);
  }

  /** A request of `slot` ended: count it, run the next waiting one; past `pm.max_requests`, stop accepting. */
  #ended(slot: Slot): void {
    const req = slot.request;
    slot.request = undefined;
    const requests = this.scoreboard.ended(req ?? slot);
    this.#deps.afterRequest?.();
    const next = this.#pending.shift();
    if (next !== undefined) this.#run(slot, next);
    const max = this.#deps.maxRequests;
    if (max > 0 && requests >= max && !this.#closed) {
      this.#close();
      this.#deps.log.info({ requests }, 'direct: pm.max_requests reached, not accepting any more');
      this.#deps.send({ type: 'recycle', reason: 'max_requests', rssBytes: process.memoryUsage.rss() });
    }
    this.#leaveIfDone();
  }

  /** Stops accepting; idle kept-alive connections close now, the others after their request. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    for (const [socket, { connection, used }] of this.#connections) {
      // A connection that sent nothing yet may have its request on the way: it gets a while.
      if (connection.idle) this.#endSoon(socket, used ? 0 : FRESH_GRACE_MS);
    }
  }

  /**
   * Ends `socket` after `delayMs` unless a request started on it by then (its response is out),
   * destroying it if the peer does not close it.
   */
  #endSoon(socket: Socket, delayMs = 0): void {
    const end = (): void => {
      const entry = this.#connections.get(socket);
      if (entry !== undefined && !entry.connection.idle) return; // ended by its 'idle' instead
      socket.end();
      setTimeout(() => { socket.destroy(); }, CLOSE_GRACE_MS).unref();
    };
    if (delayMs === 0) end();
    else setTimeout(end, delayMs).unref();
  }

  /** Once told to stop, and every accepted connection closed and request ended: done. */
  #leaveIfDone(): void {
    if (!this.#stopping || this.#left) return;
    if (this.#connections.size > 0 || this.#pending.length > 0 || this.#slots.some((s) => s.request !== undefined)) return;
    this.#left = true;
    this.#deps.done();
  }
}
