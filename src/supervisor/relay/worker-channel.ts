// This file implements one FastCGI channel to a worker (a socketpair made at fork) from the
// perspective of the relay: it carries one request at a time under a fresh channel request
// id, and relays the worker's reply records back to the request, which writes them under the
// web server's own id. A worker has one channel, or `handler.concurrency` channels for a
// handler pool.
import type { Socket } from 'node:net';
import { FCGI_KEEP_CONN, RecordType, Role } from '../../fastcgi/constants.ts';
import { RecordParser } from '../../fastcgi/parser.ts';
import { encodeBeginRequestBody, encodeRecord, type FcgiRecord } from '../../fastcgi/record.ts';
import { encodeStream } from '../../fastcgi/writer.ts';
import { errorPage } from '../../cgi/error-page.ts';
import { CHANNEL_REQUEST_FAILED } from '../../worker/ipc.ts';
import { totalBytes, writeBuffers } from './socket-write.ts';
import { encodeOverrides } from './overrides.ts';
import type { RelayRequest, Upstream } from './relay-request.ts';

/** What a channel reports to its worker handle. */
export interface ChannelEvents {
  /** The channel took `request` (its BEGIN_REQUEST went to the worker). */
  started(channel: WorkerChannel, request: RelayRequest): void;
  /** The worker's END_REQUEST for `request` came, before it is relayed (and logged). */
  ending?(channel: WorkerChannel, request: RelayRequest): void;
  /** The request ended (END_REQUEST relayed); the channel is free. */
  finished(channel: WorkerChannel): void;
  /** FCGI_ABORT_REQUEST went to the worker: it must end the request soon. */
  aborted(channel: WorkerChannel): void;
  /** The worker wrote bytes that are not FastCGI: the worker must go. */
  protocolError(channel: WorkerChannel, err: unknown): void;
}

/** One request slot of a worker: a socketpair speaking FastCGI. */
export class WorkerChannel implements Upstream {
  /** The channel request id of the request in flight (fresh per request, 1…65535). */
  channelId = 0;
  #request: RelayRequest | undefined;
  readonly #socket: Socket;
  readonly #events: ChannelEvents;
  /** The request whose web server is paused until this channel drains (one 'drain' listener). */
  #pausedInput: RelayRequest | undefined;
  /** This channel is paused until the web server's socket drains (one wait at a time). */
  #outputPaused = false;

  constructor(socket: Socket, events: ChannelEvents) {
    this.#socket = socket;
    this.#events = events;
    const parser = new RecordParser((record) => { this.#onRecord(record); });
    socket.on('data', (chunk: Buffer) => {
      // What one read brings (STDOUT, the empty STDOUT, END_REQUEST) leaves in one writev.
      const request = this.#request;
      request?.cork();
      try {
        parser.push(chunk);
      } catch (err) {
        events.protocolError(this, err);
      } finally {
        request?.uncork();
      }
    });
    socket.on('error', () => undefined); // the worker's exit is what counts
  }

  /** The request on this channel, if busy. */
  get request(): RelayRequest | undefined {
    return this.#request;
  }

  /**
   * Runs `request` here: sends the whole request so far (BEGIN, the web server's PARAMS, the
   * resolved script, held STDIN).
   * @returns false when the request could not run (over meanwhile, or not routed); the
   *   channel stays free
   * @throws TypeError when the channel is busy
   */
  run(request: RelayRequest): boolean {
    if (this.#request !== undefined) throw new TypeError('worker: run: channel busy');
    const route = request.route;
    const params = request.params;
    const held = request.assign(this);
    if (held === undefined || route === undefined || params === undefined) return false;
    this.channelId = this.channelId >= 0xffff ? 1 : this.channelId + 1;
    const id = this.channelId;
    this.#request = request;
    // Later duplicates win in the worker: it runs exactly the file the router checked. The
    // overrides may be longer than one record (a long path-info): framed as a stream.
    const out: Buffer[] = encodeRecord(RecordType.FCGI_BEGIN_REQUEST, id,
      encodeBeginRequestBody(Role.FCGI_RESPONDER, FCGI_KEEP_CONN));
    for (const part of encodeStream(RecordType.FCGI_PARAMS, id, params.bytes)) out.push(part);
    for (const part of encodeStream(RecordType.FCGI_PARAMS, id, route.overrides ?? encodeOverrides(route))) out.push(part);
    for (const part of encodeRecord(RecordType.FCGI_PARAMS, id)) out.push(part);
    for (const content of held) for (const part of encodeRecord(RecordType.FCGI_STDIN, id, content)) out.push(part);
    // Held STDIN may have paused the web server: it is out now, so read on unless the channel is full.
    if (this.#write(out, request)) request.resumeInput();
    this.#events.started(this, request);
    return true;
  }

  /** Forwards one STDIN content of the request in flight (empty = end of body). */
  stdin(content: Buffer): void {
    const request = this.#request;
    if (request !== undefined) this.#write(encodeRecord(RecordType.FCGI_STDIN, this.channelId, content), request);
  }

  /** Sends FCGI_ABORT_REQUEST for the request in flight. */
  abort(): void {
    if (this.#request === undefined) return;
    this.#write(encodeRecord(RecordType.FCGI_ABORT_REQUEST, this.channelId), undefined);
    this.#events.aborted(this);
  }

  /** The worker is gone: hands back the request it held (if any) and closes the channel. */
  close(): RelayRequest | undefined {
    const request = this.#request;
    this.#request = undefined;
    this.#socket.destroy();
    return request;
  }

  /** @returns false when the channel is full (the web server's input is paused until it drains) */
  #write(buffers: readonly Buffer[], request: RelayRequest | undefined): boolean {
    if (this.#socket.destroyed) return true;
    const ok = writeBuffers(this.#socket, buffers, totalBytes(buffers));
    // Past the request's window (0 unless multiplexed: see RelayRequest.stdinWindowBytes) the
    // web server's connection stops reading until this channel drains.
    if (!ok && request !== undefined && this.#socket.writableLength > request.stdinWindowBytes && request.pauseInput()) {
      // One listener however many writes found the channel full before it drained.
      if (this.#pausedInput === undefined) this.#socket.once('drain', this.#onChannelDrain);
      this.#pausedInput = request;
    }
    return ok;
  }

  readonly #onChannelDrain = (): void => {
    const request = this.#pausedInput;
    this.#pausedInput = undefined;
    request?.resumeInput();
  };

  /** The web server's socket drained (or closed): read the worker again. */
  readonly #onWebDrain = (): void => {
    this.#outputPaused = false;
    this.#socket.resume();
  };

  #onRecord(record: FcgiRecord): void {
    const request = this.#request;
    if (request === undefined || record.requestId !== this.channelId) return; // stale
    switch (record.type) {
      case RecordType.FCGI_STDOUT:
      case RecordType.FCGI_STDERR:
        if (!request.output(record.type, record.content) && !this.#outputPaused) {
          // Once per wait: a read may carry many records after the first that found it full.
          this.#outputPaused = true;
          this.#socket.pause();
          request.onDrain(this.#onWebDrain);
        }
        return;
      case RecordType.FCGI_END_REQUEST:
        this.#request = undefined;
        this.#events.ending?.(this, request);
        // An incomplete response (its runtime died after the head): closed without an
        // END_REQUEST, so the web server logs an upstream error (issue 10.7).
        if (record.content[4] === CHANNEL_REQUEST_FAILED) request.answer(502, errorPage(502));
        else request.ended(record.content);
        this.#outputPaused = false;
        this.#socket.resume();
        this.#events.finished(this);
        return;
      default:
        return;
    }
  }
}
