// This file implements a worker of a `dispatch = "direct"` pool from the perspective of the web
// server connecting to the pool's socket: the worker accepts on the socket the supervisor bound
// and passed it (PHP-FPM's children do the same), serves up to `handler.concurrency`
// connections at once with the request machinery the standalone worker uses (scripts resolved
// here, `ping.path` answered here), keeps a scoreboard the supervisor's heartbeat reads, and
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
import { FcgiResponderConnection, type FcgiRequest } from './fcgi-connection.ts';
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
  /** Called once the worker stopped accepting and every connection it took is closed. */
  readonly done: () => void;
}

/** One of `handler.concurrency` places a connection is served in. */
interface Slot {
  readonly server: RequestServer;
  connection: FcgiResponderConnection | undefined;
  socket: Socket | undefined;
}

/** Bound on a connection's lingering close when the worker leaves, in milliseconds. */
const CLOSE_GRACE_MS = 2000;

/**
 * The accept loop of a direct worker on the listening socket `fd`. Connections past the free
 * slots wait, paused, in arrival order (the listen backlog queues those not accepted yet); a
 * connection keeps its slot until it closes (several requests with `FCGI_KEEP_CONN`), as a
 * PHP-FPM child does.
 */
export class DirectWorker {
  readonly scoreboard: Scoreboard;
  readonly #pool: PoolConfig;
  readonly #deps: DirectDeps;
  readonly #listener: Server;
  readonly #slots: Slot[];
  readonly #waiting: Socket[] = [];
  readonly #filter: ClientFilter | undefined;
  /** Not accepting any more: stopped, or `pm.max_requests` reached. */
  #closed = false;
  #stopping = false;
  #left = false;

  constructor(pool: PoolConfig, deps: DirectDeps) {
    this.#pool = pool;
    this.#deps = deps;
    this.scoreboard = new Scoreboard(deps.now);
    this.#listener = createServer({ pauseOnConnect: true, noDelay: true });
    const address = formatListenAddress(pool.listen.address);
    this.#filter = pool.listen.address.kind === 'tcp' && pool.listen.allowedClients !== undefined
      ? new ClientFilter(address, pool.listen.allowedClients, deps.log, deps.now) : undefined;
    this.#slots = Array.from({ length: pool.handler.concurrency }, () => this.#slot());
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
   * the connections already accepted, closes kept-alive ones once idle, then calls `done`.
   */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#close();
    this.#leaveIfDone();
  }

  #slot(): Slot {
    const slot: Slot = {
      connection: undefined, socket: undefined,
      server: new RequestServer(this.#pool, {
        log: this.#deps.log, inherited: process.env, now: this.#deps.now, runtime: this.#deps.runtime.run,
        openScript, resolve: (params) => resolvePoolScript(this.#pool, params),
        afterRequest: () => { this.#ended(slot); },
      }),
    };
    return slot;
  }

  #accept(socket: Socket): void {
    // A waiting socket is paused, yet a reset could still be reported: never let it throw.
    socket.on('error', () => undefined);
    if (this.#filter !== undefined && !this.#filter.admit(socket)) return;
    this.scoreboard.accepted += 1;
    this.#waiting.push(socket);
    this.#next();
  }

  /** Gives waiting connections to free slots. */
  #next(): void {
    for (const slot of this.#slots) {
      if (slot.socket !== undefined) continue;
      const socket = this.#waiting.shift();
      if (socket === undefined) return;
      this.#serve(slot, socket);
    }
  }

  #serve(slot: Slot, socket: Socket): void {
    const connection = new FcgiResponderConnection(socket, {
      values: { FCGI_MAX_CONNS: String(this.#slots.length), FCGI_MAX_REQS: String(this.#slots.length) },
    });
    slot.socket = socket;
    slot.connection = connection;
    connection.on('request', (req: FcgiRequest) => { this.#request(slot, req); });
    connection.on('protocol-error', (err: Error) => {
      this.#deps.log.error({ err: err.message }, 'protocol error');
    });
    // Leaving (stopped or used up): a kept-alive connection closes after its response.
    connection.on('idle', () => { if (this.#closed) this.#endSoon(socket); });
    connection.on('close', () => {
      // An aborted request may still be stopping its script: the next connection waits for it.
      slot.server.stopWhenIdle(() => {
        slot.socket = undefined;
        slot.connection = undefined;
        this.#next();
        this.#leaveIfDone();
      });
    });
    socket.resume();
  }

  #request(slot: Slot, req: FcgiRequest): void {
    this.scoreboard.started(slot, req);
    const pingPath = this.#pool.status.pingPath;
    if (pingPath !== undefined && req.pairs.get('SCRIPT_NAME')?.toString('latin1') === pingPath) {
      req.stdout.write(cgiResponse(200, 'text/plain', Buffer.from(this.#pool.status.pingResponse), NO_CACHE));
      req.end(0);
      this.#ended(slot);
      return;
    }
    slot.server.handle(req);
  }

  /** A request of `slot` ended: count it; past `pm.max_requests`, stop accepting and say so. */
  #ended(slot: Slot): void {
    const requests = this.scoreboard.ended(slot);
    const max = this.#deps.maxRequests;
    if (max <= 0 || requests < max || this.#closed) return;
    this.#close();
    this.#deps.log.info({ requests }, 'direct: pm.max_requests reached, not accepting any more');
    this.#deps.send({ type: 'recycle', reason: 'max_requests', rssBytes: process.memoryUsage.rss() });
    this.#leaveIfDone();
  }

  /** Stops accepting; idle kept-alive connections close now, the others after their request. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    for (const slot of this.#slots) {
      if (slot.socket !== undefined && slot.connection?.idle === true) this.#endSoon(slot.socket);
    }
  }

  /** Ends `socket` now (its response is out), destroying it if the peer does not close it. */
  #endSoon(socket: Socket): void {
    socket.end();
    setTimeout(() => { socket.destroy(); }, CLOSE_GRACE_MS).unref();
  }

  /** Once closed, told to stop, and every accepted connection served: done. */
  #leaveIfDone(): void {
    if (!this.#stopping || this.#left) return;
    if (this.#waiting.length > 0 || this.#slots.some((s) => s.socket !== undefined)) return;
    this.#left = true;
    this.#deps.done();
  }
}
