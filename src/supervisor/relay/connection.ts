// This file implements one web-server connection from the perspective of the supervisor's
// relay: the socket side of the FastCGI responder role (fastcgi/responder.ts handles the
// records), which routes each request whose params are complete, hands it to its pool, and
// answers what the supervisor answers itself. It never throws on the data path: malformed input
// closes this connection only.
import type { Socket } from 'node:net';
import { errorPage } from '../../cgi/error-page.ts';
import { ProtocolStatus } from '../../fastcgi/constants.ts';
import { DEFAULT_MAX_PARAMS_BYTES, type NameValuePairs } from '../../fastcgi/name-value.ts';
import { Responder } from '../../fastcgi/responder.ts';
import { encodeEndRequest } from '../../fastcgi/writer.ts';
import { ConnectionClock } from './connection-timeouts.ts';
import { RelayRequest, type RequestHandler } from './relay-request.ts';
import { fastcgiResponse } from './responses.ts';
import { totalBytes, writeBuffers } from './socket-write.ts';
import { ConnectionRouting } from './connection-routing.ts';
import type { ConnectionDeps } from './connection-deps.ts';

export type { ConnectionDeps, RequestDispatch, RequestObserver } from './connection-deps.ts';

/** How long a closing connection may keep sending before it is destroyed (lingering close). */
const LINGER_MS = 5000;
/**
 * STDIN of one request that may wait in its worker channel's buffer before the whole connection
 * stops reading, in bytes, on a connection that may multiplex (`listen.mpxs_conns`). FastCGI
 * has no per-request flow control: stopping the socket stalls every request on it, so a slow
 * reader gets this much slack first. (A connection that cannot multiplex stops at once.)
 */
export const MPX_STDIN_WINDOW_BYTES = 1024 * 1024;

/**
 * One FastCGI connection from a web server, carrying one request at a time, or several at once
 * when multiplexing is allowed (`deps.maxRequests` > 1), each relayed to its own worker.
 */
export class WebConnection implements RequestHandler {
  private readonly socket: Socket;
  private readonly deps: ConnectionDeps;
  private readonly responder: Responder<RelayRequest>;
  private closing = false;
  private draining = false;
  private readonly clock: ConnectionClock;
  /** Requests this connection may carry at once (fixed when it was accepted). */
  private readonly maxRequests: number;
  /** Requests that asked the socket not to be read (RelayRequest.pauseInput). */
  private pausedBy = 0;
  /** Relays waiting for the socket to drain (one listener for all: many requests may wait). */
  private drainWaiters: (() => void)[] = [];
  /** {@link WebConnection.cork} calls in force: while > 0, writes gather in `batch` (one write at the last uncork). */
  private corks = 0;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  /** Routes and dispatches its requests. */
  private readonly routing: ConnectionRouting;

  constructor(socket: Socket, deps: ConnectionDeps) {
    this.socket = socket;
    this.deps = deps;
    this.maxRequests = deps.maxRequests;
    this.routing = new ConnectionRouting(deps);
    this.clock = new ConnectionClock(() => this.deps.timeouts, (key, ms) => {
      this.deps.timedOut(key, ms);
      this.socket.destroy();
    });
    this.responder = new Responder<RelayRequest>({
      begin: (requestId, keepConn) => this.begin(requestId, keepConn),
      params: (request, pairs) => {
        this.clock.busy();
        this.route(request, pairs);
      },
      stdin: (request, content) => { request.stdin(content); },
      abort: (request) => { this.cancel(request, true); },
      reply: (record) => { this.write([record]); },
      close: () => { this.lingeringClose(); },
      idle: () => {
        this.clock.idle();
        if (this.draining) this.lingeringClose();
      },
      paramsTooLarge: (request, err) => {
        this.deps.log.warn({ err: err.message, remote: this.socket.remoteAddress }, 'params too large');
        request.answer(431, errorPage(431));
      },
    }, { maxParamsBytes: DEFAULT_MAX_PARAMS_BYTES, maxRequests: this.maxRequests, values: () => this.deps.values });
    deps.counters.open += 1;
    deps.counters.accepted += 1;
    socket.on('data', (chunk: Buffer) => { this.onData(chunk); });
    socket.on('error', (err) => { deps.log.debug({ err }, 'connection error'); });
    socket.on('end', () => { if (this.closing) socket.destroy(); else socket.end(); });
    socket.on('close', () => { this.onClose(); });
    socket.on('drain', this.wakeDrainWaiters);
  }

  write(buffers: readonly Buffer[]): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return true;
    if (this.corks > 0) {
      for (const b of buffers) {
        this.batch.push(b);
        this.batchBytes += b.length;
      }
      // What `socket.write` would say once the batch is in its buffer.
      return this.socket.writableLength + this.batchBytes < this.socket.writableHighWaterMark;
    }
    return writeBuffers(this.socket, buffers, totalBytes(buffers));
  }

  cork(): void {
    this.corks += 1;
  }

  uncork(): void {
    if (this.corks === 0) return;
    this.corks -= 1;
    if (this.corks === 0) this.flush();
  }

  onDrain(resume: () => void): void {
    if (this.socket.destroyed) resume();
    else this.drainWaiters.push(resume);
  }

  finished(request: RelayRequest): void {
    this.responder.end(request.requestId);
    this.deps.observer?.ended(request);
  }

  pauseInput(): void {
    this.pausedBy += 1;
    if (this.pausedBy === 1) this.socket.pause();
  }

  resumeInput(): void {
    if (this.pausedBy === 0) return;
    this.pausedBy -= 1;
    if (this.pausedBy === 0 && !this.closing) this.socket.resume();
  }

  get tempPath(): string {
    return this.deps.tempPath;
  }

  holdFailed(request: RelayRequest, err: Error): void {
    this.deps.log.error({
      err: err.message, tempPath: this.deps.tempPath, script: request.route?.scriptFilename.toString(),
    }, 'output hold failed');
  }

  answer(request: RelayRequest, status: number, page: Buffer, headersSent: boolean): void {
    if (headersSent) {
      // Headers already went out: the only honest signal left is closing the connection
      // without an END_REQUEST (nginx logs "upstream prematurely closed"), after what was
      // relayed is flushed (a destroy dropped it). Not on a connection that carries other
      // requests too: they would be lost with it; this one ends with a non-zero application
      // status (the web server sees a short response).
      if (this.responder.size <= 1) {
        this.lingeringClose();
        this.deps.observer?.ended(request);
        return;
      }
      this.deps.log.warn({ requestId: request.requestId, status }, 'response cut short on a multiplexed connection');
      this.write([encodeEndRequest(request.requestId, 1, ProtocolStatus.FCGI_REQUEST_COMPLETE)]);
      this.finished(request);
      return;
    }
    this.write(fastcgiResponse(request.requestId, page));
    this.deps.logRequest(request, status, page.length);
    this.finished(request);
  }

  reroute(request: RelayRequest): void {
    const params = request.params;
    if (params !== undefined) this.routing.route(request, params, false);
  }

  /**
   * The daemon is stopping: close now if no request is in flight (an idle kept-alive
   * connection), else right after the request in flight ends.
   */
  shutdown(): void {
    this.draining = true;
    if (this.responder.idle) this.lingeringClose();
  }

  /** Closes the connection at once (after `process_control_timeout`). */
  destroy(): void {
    this.socket.destroy();
  }

  private begin(requestId: number, keepConn: boolean): RelayRequest {
    const request = new RelayRequest(requestId, keepConn, this, this.deps.now());
    const inFlight = this.responder.size + 1; // the responder counts it once this returns
    // On a connection that may carry other requests, one request's slow reader must not stop
    // the socket at its first full write: the next request's records may be queued behind its
    // body already (they are read only if the socket is).
    if (this.maxRequests > 1) request.stdinWindowBytes = MPX_STDIN_WINDOW_BYTES;
    this.deps.counters.began(inFlight);
    return request;
  }

  /** The socket drained: every relay waiting for it reads its worker again. */
  private readonly wakeDrainWaiters = (): void => {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resume of waiters) resume();
  };

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.clock.received();
    this.routing.readStarts();
    try {
      this.responder.push(chunk);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message, remote: this.socket.remoteAddress }, 'protocol error');
      this.closing = true;
      this.socket.destroy();
    } finally {
      this.routing.readEnds(this.socket.destroyed);
    }
  }

  private route(request: RelayRequest, params: NameValuePairs): void {
    if (!request.routing(params)) return;
    if (this.deps.observer?.answer(request, params) === true) return;
    this.routing.route(request, params, false);
  }

  /**
   * The web server gave up on `request`: by FCGI_ABORT_REQUEST (`owed`: its END_REQUEST is
   * still owed, §5.4) or by closing the connection. A running request's worker ends it.
   */
  private cancel(request: RelayRequest, owed: boolean): void {
    const was = request.abort();
    switch (was) {
      case 'queued':
        if (request.route !== undefined) this.deps.pools.withdraw(request.route.pool.name, request);
        break;
      case 'params':
      case 'routing':
      case 'releasing': // its worker has ended it; what it wrote was held and is now dropped
        break;
      case 'active':
      case 'aborting':
      case 'finished':
        return;
    }
    if (!owed) {
      this.deps.observer?.ended(request);
      return;
    }
    this.write([encodeEndRequest(request.requestId, 0, ProtocolStatus.FCGI_REQUEST_COMPLETE)]);
    this.finished(request);
  }

  /** Writes what was batched while corked; wakes the relays a batched write told to wait if the socket is not full. */
  private flush(): void {
    if (this.batch.length === 0) return;
    const parts = this.batch;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (writeBuffers(this.socket, parts, bytes) && this.drainWaiters.length > 0) process.nextTick(this.wakeDrainWaiters);
  }

  private lingeringClose(): void {
    if (this.closing) return;
    this.closing = true;
    this.flush(); // what was relayed before the close goes out first
    this.clock.close();
    this.socket.end();
    this.socket.resume();
    setTimeout(() => { this.socket.destroy(); }, LINGER_MS).unref();
  }

  private onClose(): void {
    this.clock.close();
    this.deps.counters.open -= 1;
    this.responder.forEach(this.dropRequest);
    this.responder.clear();
    this.wakeDrainWaiters(); // a closed socket never drains: its relays must not wait forever
  }

  /** The connection is gone: a request in flight is cancelled, with nobody to answer. */
  private readonly dropRequest = (request: RelayRequest): void => {
    this.cancel(request, false);
  };
}
