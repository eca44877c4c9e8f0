// This file implements one FastCGI channel to a worker (a socketpair made at fork) from the
// perspective of the relay: it carries one request at a time under a fresh channel request
// id, and relays the worker's reply records back under the web server's own id. A worker
// has one channel, or `handler.concurrency` channels for a handler pool.
import type { Socket } from 'node:net';
import { FCGI_KEEP_CONN, RecordType, Role } from '../../fastcgi/constants.ts';
import { encodeNameValuePairs } from '../../fastcgi/name-value.ts';
import { RecordParser } from '../../fastcgi/parser.ts';
import { encodeBeginRequestBody, encodeRecord, type FcgiRecord } from '../../fastcgi/record.ts';
import type { RelayRequest } from './relay-request.ts';

/** What a channel reports to its worker handle. */
export interface ChannelEvents {
  /** The request ended (END_REQUEST relayed); the channel is free. */
  finished(channel: WorkerChannel): void;
  /** The worker wrote bytes that are not FastCGI: the worker must go. */
  protocolError(channel: WorkerChannel, err: unknown): void;
}

/** One request slot of a worker: a socketpair speaking FastCGI. */
export class WorkerChannel {
  /** The request on this channel, if busy. */
  request: RelayRequest | undefined;
  /** The channel request id of the request in flight (fresh per request, 1…65535). */
  channelId = 0;
  private readonly socket: Socket;
  private readonly events: ChannelEvents;

  constructor(socket: Socket, events: ChannelEvents) {
    this.socket = socket;
    this.events = events;
    const parser = new RecordParser((record) => { this.onRecord(record); });
    socket.on('data', (chunk: Buffer) => {
      // What one read brings (STDOUT, the empty STDOUT, END_REQUEST) leaves in one writev.
      const sink = this.request?.sink;
      sink?.cork();
      try {
        parser.push(chunk);
      } catch (err) {
        events.protocolError(this, err);
      } finally {
        sink?.uncork();
      }
    });
    socket.on('error', () => undefined); // the worker's exit is what counts
  }

  /** Sends the whole request so far (BEGIN, PARAMS, resolved script, held STDIN). */
  assign(request: RelayRequest): void {
    const route = request.route;
    if (this.request !== undefined || route === undefined) throw new TypeError('worker: assign: channel busy or request unrouted');
    this.channelId = this.channelId >= 0xffff ? 1 : this.channelId + 1;
    const id = this.channelId;
    this.request = request;
    request.state = 'active';
    request.channel = this;
    const overrides: [string, string][] = [['SCRIPT_FILENAME', route.scriptFilename]];
    if (route.pathInfo !== '') overrides.push(['PATH_INFO', route.pathInfo]);
    if (route.scriptName !== undefined) overrides.push(['SCRIPT_NAME', route.scriptName]);
    const out: Buffer[] = encodeRecord(RecordType.FCGI_BEGIN_REQUEST, id,
      encodeBeginRequestBody(Role.FCGI_RESPONDER, FCGI_KEEP_CONN));
    for (const content of request.paramsContents) out.push(...encodeRecord(RecordType.FCGI_PARAMS, id, content));
    out.push(...encodeRecord(RecordType.FCGI_PARAMS, id, encodeNameValuePairs(overrides)));
    out.push(...encodeRecord(RecordType.FCGI_PARAMS, id));
    for (const content of request.takePending()) out.push(...encodeRecord(RecordType.FCGI_STDIN, id, content));
    this.write(out, request);
  }

  /** Forwards one STDIN content of the request in flight (empty = end of body). */
  forwardStdin(request: RelayRequest, content: Buffer): void {
    if (request !== this.request) return;
    this.write(encodeRecord(RecordType.FCGI_STDIN, this.channelId, content), request);
  }

  /** Sends FCGI_ABORT_REQUEST for the request in flight. */
  abort(request: RelayRequest): void {
    if (request !== this.request) return;
    this.write(encodeRecord(RecordType.FCGI_ABORT_REQUEST, this.channelId), undefined);
  }

  /** The worker is gone: hands back the request it held (if any) and closes the channel. */
  close(): RelayRequest | undefined {
    const request = this.request;
    this.request = undefined;
    this.socket.destroy();
    return request;
  }

  private write(buffers: readonly Buffer[], request: RelayRequest | undefined): void {
    if (this.socket.destroyed) return;
    this.socket.cork();
    let ok = true;
    for (const b of buffers) ok = this.socket.write(b);
    this.socket.uncork();
    if (!ok && request !== undefined) {
      request.sink.pauseInput();
      this.socket.once('drain', () => { request.sink.resumeInput(); });
    }
  }

  private onRecord(record: FcgiRecord): void {
    const request = this.request;
    if (request === undefined || record.requestId !== this.channelId) return; // stale
    switch (record.type) {
      case RecordType.FCGI_STDOUT:
        request.stdoutBytes += record.content.length;
        this.relay(request, encodeRecord(record.type, request.requestId, record.content));
        return;
      case RecordType.FCGI_STDERR:
        this.relay(request, encodeRecord(record.type, request.requestId, record.content));
        return;
      case RecordType.FCGI_END_REQUEST:
        this.relay(request, encodeRecord(record.type, request.requestId, record.content));
        this.request = undefined;
        request.state = 'finished';
        request.sink.finished(request);
        this.socket.resume();
        this.events.finished(this);
        return;
      default:
        return;
    }
  }

  private relay(request: RelayRequest, buffers: readonly Buffer[]): void {
    if (request.sink.write(buffers)) return;
    this.socket.pause();
    request.sink.onDrain(() => { this.socket.resume(); });
  }
}
