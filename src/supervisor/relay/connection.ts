// This file implements one web-server connection from the perspective of the supervisor's
// relay: it parses FastCGI records, answers management records itself, collects a request's
// PARAMS, routes it, hands it to its pool, and streams STDIN on (held while queued). It never
// throws on the data path: malformed input closes this connection only.
import type { Socket } from 'node:net';
import { FCGI_KEEP_CONN, FCGI_NULL_REQUEST_ID, ProtocolStatus, RecordType, Role } from '../../fastcgi/constants.ts';
import { NameValueDecoder } from '../../fastcgi/name-value.ts';
import { RecordParser } from '../../fastcgi/parser.ts';
import { decodeBeginRequestBody, type FcgiRecord } from '../../fastcgi/record.ts';
import { encodeEndRequest } from '../../fastcgi/writer.ts';
import type { Logger } from '../../log/logger.ts';
import { answerManagement } from './management.ts';
import { RelayRequest, type RequestSink } from './relay-request.ts';
import { fastcgiResponse } from './responses.ts';
import { errorPage } from '../../cgi/error-page.ts';
import { isRefusal, type Router } from './router.ts';
import type { Pool } from '../pool/pool.ts';

/** STDIN held per queued request before the socket is paused (research: pitfall 3). */
const MAX_HELD_BYTES = 64 * 1024;
/** How long a closing connection may keep sending before it is destroyed (lingering close). */
const LINGER_MS = 5000;

/** What a connection needs from the supervisor. */
export interface ConnectionDeps {
  router: Router;
  readonly pools: ReadonlyMap<string, Pool>;
  readonly log: Logger;
  readonly now: () => number;
  values: Readonly<Record<string, string>>;
  readonly logRequest: (request: RelayRequest, status: number, bytes: number) => void;
}

/** One FastCGI connection from a web server, carrying one request at a time. */
export class WebConnection implements RequestSink {
  private readonly socket: Socket;
  private readonly deps: ConnectionDeps;
  private readonly parser: RecordParser;
  private request: RelayRequest | undefined;
  private closing = false;
  private draining = false;
  private inputPaused = false;

  constructor(socket: Socket, deps: ConnectionDeps) {
    this.socket = socket;
    this.deps = deps;
    this.parser = new RecordParser((record) => { this.onRecord(record); });
    socket.on('data', (chunk: Buffer) => { this.onData(chunk); });
    socket.on('error', (err) => { deps.log.debug({ err }, 'connection error'); });
    socket.on('end', () => { if (this.closing) socket.destroy(); else socket.end(); });
    socket.on('close', () => { this.onClose(); });
  }

  write(buffers: readonly Buffer[]): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return true;
    this.socket.cork();
    let ok = true;
    for (const b of buffers) ok = this.socket.write(b);
    this.socket.uncork();
    return ok;
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  onDrain(resume: () => void): void {
    if (this.socket.destroyed) resume();
    else this.socket.once('drain', resume);
  }

  finished(request: RelayRequest): void {
    if (request !== this.request) return;
    if (!request.keepConn || this.draining) this.lingeringClose();
    this.resumeInput();
  }

  pauseInput(): void {
    this.inputPaused = true;
    this.socket.pause();
  }

  resumeInput(): void {
    if (!this.inputPaused) return;
    this.inputPaused = false;
    this.socket.resume();
  }

  /**
   * The daemon is stopping: close now if no request is in flight (an idle kept-alive
   * connection), else right after the request in flight ends.
   */
  shutdown(): void {
    this.draining = true;
    if (this.request === undefined || this.request.state === 'finished') this.lingeringClose();
  }

  /** Answers `request` without a worker (or after its worker died). */
  answer(request: RelayRequest, status: number, page: Buffer): void {
    if (request.state === 'finished') return;
    request.state = 'finished';
    if (request.stdoutBytes > 0) {
      // Headers already went out: the only honest signal left is closing the connection.
      this.socket.destroy();
      return;
    }
    this.write(fastcgiResponse(request.requestId, page));
    this.deps.logRequest(request, status, page.length);
    this.finished(request);
  }

  /** Closes the connection at once (after `process_control_timeout`). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    try {
      this.parser.push(chunk);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message, remote: this.socket.remoteAddress }, 'protocol error');
      this.abandon();
    }
  }

  private onRecord(record: FcgiRecord): void {
    if (record.requestId === FCGI_NULL_REQUEST_ID) {
      this.write([answerManagement(record, this.deps.values)]);
      return;
    }
    switch (record.type) {
      case RecordType.FCGI_BEGIN_REQUEST:
        this.begin(record);
        return;
      case RecordType.FCGI_PARAMS:
        this.params(record);
        return;
      case RecordType.FCGI_STDIN:
        this.stdin(record);
        return;
      case RecordType.FCGI_ABORT_REQUEST:
        if (this.request?.requestId === record.requestId) this.cancel(this.request);
        return;
      default:
        return;
    }
  }

  private begin(record: FcgiRecord): void {
    const current = this.request;
    if (current !== undefined && current.state !== 'finished') {
      if (current.requestId === record.requestId) throw new Error('fastcgi: BEGIN_REQUEST repeated for a live request id');
      this.write([encodeEndRequest(record.requestId, 0, ProtocolStatus.FCGI_CANT_MPX_CONN)]);
      return;
    }
    const { role, flags } = decodeBeginRequestBody(record.content);
    if (role !== Role.FCGI_RESPONDER) {
      this.write([encodeEndRequest(record.requestId, 0, ProtocolStatus.FCGI_UNKNOWN_ROLE)]);
      return;
    }
    this.request = new RelayRequest({
      requestId: record.requestId, keepConn: (flags & FCGI_KEEP_CONN) !== 0, sink: this,
      decoder: new NameValueDecoder(), nowMs: this.deps.now(),
    });
  }

  private params(record: FcgiRecord): void {
    const request = this.request;
    if (request?.requestId !== record.requestId || request.state !== 'params') return;
    if (record.content.length > 0) {
      request.decoder.push(record.content);
      request.paramsContents.push(record.content);
      return;
    }
    request.state = 'routing';
    void this.route(request, request.decoder.end());
  }

  private async route(request: RelayRequest, params: Map<string, string>, rerouted = false): Promise<void> {
    let result;
    try {
      result = await this.deps.router.route(params);
    } catch (err) {
      this.deps.log.error({ err, script: params.get('SCRIPT_FILENAME') }, 'script refused');
      this.answer(request, 403, errorPage(403));
      return;
    }
    if (request.state !== 'routing') return; // the web server went away meanwhile
    if (isRefusal(result)) {
      this.deps.log.warn({ script: result.scriptFilename, reason: result.reason }, result.event);
      this.answer(request, result.status, errorPage(result.status));
      return;
    }
    const pool = this.deps.pools.get(result.pool.name);
    if (pool === undefined) {
      // A reload removed the pool while the script was being resolved: route it again under
      // the new config (once), rather than leave the web server waiting for an answer.
      if (!rerouted) {
        void this.route(request, params, true);
        return;
      }
      this.deps.log.error({ script: result.scriptFilename, pool: result.pool.name }, 'pool gone during reload');
      this.answer(request, 503, errorPage(503, [['Retry-After', '1']]));
      return;
    }
    request.route = result;
    pool.dispatch(request);
  }

  private stdin(record: FcgiRecord): void {
    const request = this.request;
    if (request?.requestId !== record.requestId) return;
    switch (request.state) {
      case 'params':
      case 'routing':
      case 'queued':
        request.hold(record.content);
        if (request.pendingBytes > MAX_HELD_BYTES) this.pauseInput();
        return;
      case 'active':
        request.channel?.forwardStdin(request, record.content);
        return;
      case 'finished':
        return;
    }
  }

  private poolOf(request: RelayRequest): Pool | undefined {
    return request.route === undefined ? undefined : this.deps.pools.get(request.route.pool.name);
  }

  private cancel(request: RelayRequest): void {
    const state = request.state;
    if (state === 'queued' || state === 'active') this.poolOf(request)?.cancel(request);
    request.state = 'finished';
  }

  private lingeringClose(): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.end();
    this.socket.resume();
    setTimeout(() => { this.socket.destroy(); }, LINGER_MS).unref();
  }

  private abandon(): void {
    this.closing = true;
    if (this.request !== undefined) this.cancel(this.request);
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.request !== undefined && this.request.state !== 'finished') this.cancel(this.request);
  }
}
