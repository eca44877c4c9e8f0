// This file implements one FastCGI responder request from the perspective of the handler that
// serves it: the body as a Readable with backpressure, the response as a Writable whose every
// write becomes corked STDOUT records, and exactly one END_REQUEST however the request ends
// (node-fastcgi could hang without one on a client abort: audit A-7).

import { Readable, Writable } from 'node:stream';
import { ProtocolStatus, RecordType } from '../fastcgi/constants.ts';
import type { NameValuePairs } from '../fastcgi/name-value.ts';
import { encodeEndRequest, encodeStream, encodeStreamEnd } from '../fastcgi/writer.ts';
import { whenWritableDone } from './writable-done.ts';

/**
 * One request on a {@link FcgiResponderConnection}, handed out by its `'request'` event after
 * the request's empty `FCGI_PARAMS` record.
 * @see FastCGI spec §5.1 (responder), §6.2
 */
export interface FcgiRequest {
  /** The web server's request id, 1..65535. */
  readonly requestId: number;
  /** `FCGI_KEEP_CONN` was set: the connection stays open for the next request. */
  readonly keepConn: boolean;
  /**
   * The FastCGI params (CGI meta-variables) as the web server sent them: bytes, never decoded.
   * @see FastCGI spec §5.2
   */
  readonly pairs: NameValuePairs;
  /**
   * The params as text (UTF-8; bytes that are not UTF-8 become U+FFFD), a later duplicate name
   * winning; decoded on first read, for code that wants strings. The request path reads
   * {@link FcgiRequest.pairs}.
   */
  readonly params: Map<string, string>;
  /**
   * The request body as it arrives; ends at the empty `FCGI_STDIN` record, or early on an abort
   * (check `signal`). Bytes the handler never reads are discarded when it calls `end()`.
   */
  readonly stdin: Readable;
  /**
   * The response (CGI head and body): each write goes out as `FCGI_STDOUT` records, with
   * backpressure from the socket. Writes after an abort are dropped.
   */
  readonly stdout: Writable;
  /**
   * Send diagnostics as `FCGI_STDERR` records (the web server logs them). Ignored after `end()`
   * or an abort.
   * @param data - bytes, or a string sent as UTF-8
   */
  writeStderr(data: Buffer | string): void;
  /**
   * Finish: flush `stdout`, send the empty `FCGI_STDOUT` (and `FCGI_STDERR` if used) record and
   * exactly one `FCGI_END_REQUEST`, and discard the body not read. Idempotent.
   * @param appStatus - the CGI exit status, 0..2^32-1
   * @param protocolStatus - the END_REQUEST's protocol status (a worker channel's
   *   `CHANNEL_REQUEST_FAILED` for an incomplete response)
   * @defaultValue appStatus: 0; protocolStatus: `FCGI_REQUEST_COMPLETE`
   * @throws RangeError when `appStatus` is out of range
   * @see FastCGI spec §5.5
   */
  end(appStatus?: number, protocolStatus?: number): void;
  /** Aborted on `FCGI_ABORT_REQUEST` or when the connection closes (reason: an AbortError). */
  readonly signal: AbortSignal;
  /** True once the request was aborted (as `signal.aborted`, without creating the signal). */
  readonly aborted: boolean;
  /**
   * Calls `listener` once when the request is aborted (at once if it already was): a plain
   * callback, lighter than a listener on `signal` for code that runs on every request.
   * @returns the function that removes the listener
   */
  onAbort(listener: () => void): () => void;
}

/** What a request needs from its connection (implemented by {@link FcgiResponderConnection}). */
export interface RequestChannel {
  /**
   * Write whole records, corked, with any held ones; false when the socket asks to wait for
   * 'drain'. Dropped once the socket is gone.
   */
  write(buffers: readonly Buffer[]): boolean;
  /** Like `write`, but the records may wait for the next `write` or one turn of the event loop. */
  writeHeld(buffers: readonly Buffer[]): boolean;
  /** Call `callback` once the socket has drained or closed. */
  whenDrained(callback: () => void): void;
  /** `stdin` has room again (or its bytes are no longer wanted): resume reading the socket. */
  resumeInput(): void;
  /** The request wrote its END_REQUEST (or could not, the socket being gone). */
  done(request: ResponderRequest): void;
}

/**
 * The connection's implementation of {@link FcgiRequest} (see there for each member), plus the
 * calls the connection makes into it (`pushStdin`, `abort`).
 * @see FastCGI spec §5.3 (byte streams), §5.4 (aborting), §5.5 (ending)
 */
export class ResponderRequest implements FcgiRequest {
  /** {@inheritDoc FcgiRequest.requestId} */
  readonly requestId: number;
  /** {@inheritDoc FcgiRequest.keepConn} */
  readonly keepConn: boolean;
  #pairs: NameValuePairs | undefined;
  #params: Map<string, string> | undefined;
  /** Made on first use (most requests have no body and a runtime that never reads it). */
  #stdin: Readable | undefined;
  readonly #stdinHighWaterMark: number;
  /** {@inheritDoc FcgiRequest.stdout} */
  readonly stdout: Writable;
  /** Created on first use of `signal` only: most requests are never aborted. */
  #controller: AbortController | undefined;
  #abortReason: DOMException | undefined;
  #abortListeners: (() => void)[] = [];
  readonly #channel: RequestChannel;
  /** No more STDIN is delivered: the empty record came, or the request was aborted or ended. */
  #inputDone = false;
  #ending = false;
  #stderrUsed = false;

  /**
   * Made at the request's BEGIN_REQUEST; handed out once {@link ResponderRequest.start} gave it
   * its params.
   * @param head - the request's id and keep-conn flag
   * @param channel - the connection's side
   * @param stdinHighWaterMark - bytes `stdin` buffers before the connection stops reading the socket
   */
  constructor(
    head: { requestId: number; keepConn: boolean },
    channel: RequestChannel,
    stdinHighWaterMark: number,
  ) {
    this.requestId = head.requestId;
    this.keepConn = head.keepConn;
    this.#channel = channel;
    this.#stdinHighWaterMark = stdinHighWaterMark;
    this.stdout = new Writable({
      writev: (chunks: { chunk: Buffer }[], callback: () => void) => {
        this.#writeStdout(chunks, callback);
      },
    });
  }

  /** The params are complete (the empty FCGI_PARAMS record came). */
  start(pairs: NameValuePairs): void {
    this.#pairs = pairs;
  }

  /**
   * {@inheritDoc FcgiRequest.pairs}
   * @throws TypeError before {@link ResponderRequest.start}
   */
  get pairs(): NameValuePairs {
    if (this.#pairs === undefined) throw new TypeError('fastcgi: request: params not complete yet');
    return this.#pairs;
  }

  /** {@inheritDoc FcgiRequest.params} */
  get params(): Map<string, string> {
    this.#params ??= this.pairs.toMap();
    return this.#params;
  }

  /** {@inheritDoc FcgiRequest.stdin} */
  get stdin(): Readable {
    if (this.#stdin === undefined) {
      const channel = this.#channel;
      this.#stdin = new Readable({
        highWaterMark: this.#stdinHighWaterMark,
        read: () => {
          channel.resumeInput();
        },
      });
      // Made after the body ended (or was dropped): it reads as ended, or as what `end()` left.
      if (this.#ending) this.#stdin.destroy();
      else if (this.#inputDone) this.#stdin.push(null);
    }
    return this.#stdin;
  }

  /** {@inheritDoc FcgiRequest.signal} */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** {@inheritDoc FcgiRequest.aborted} */
  get aborted(): boolean {
    return this.#abortReason !== undefined;
  }

  /** {@inheritDoc FcgiRequest.onAbort} */
  onAbort(listener: () => void): () => void {
    if (this.aborted) {
      listener();
      return () => undefined;
    }
    this.#abortListeners.push(listener);
    return () => {
      const at = this.#abortListeners.indexOf(listener);
      if (at >= 0) this.#abortListeners.splice(at, 1);
    };
  }

  /**
   * Deliver one `FCGI_STDIN` record's content; an empty one ends `stdin`.
   * @returns false when `stdin` is over its highWaterMark: stop reading the socket until `read`
   */
  pushStdin(content: Buffer): boolean {
    if (this.#inputDone) return true;
    if (content.length > 0) return this.stdin.push(content);
    this.#inputDone = true;
    this.#stdin?.push(null);
    return true;
  }

  /**
   * Abort the request (`FCGI_ABORT_REQUEST`, or the connection closed): abort `signal`, end
   * `stdin`. No-op once the handler called `end()`.
   * @param reason - why, for the AbortError's message
   */
  abort(reason: string): void {
    if (this.#ending || this.aborted) return;
    this.#abortReason = new DOMException(reason, 'AbortError');
    this.#controller?.abort(this.#abortReason);
    const listeners = this.#abortListeners;
    this.#abortListeners = [];
    for (const listener of listeners) listener();
    if (!this.#inputDone) {
      this.#inputDone = true;
      this.#stdin?.push(null);
    }
    this.#channel.resumeInput();
  }

  /** {@inheritDoc FcgiRequest.writeStderr} */
  writeStderr(data: Buffer | string): void {
    if (this.#ending || this.aborted) return;
    const records = encodeStream(
      RecordType.FCGI_STDERR,
      this.requestId,
      typeof data === 'string' ? Buffer.from(data) : data,
    );
    if (records.length === 0) return;
    this.#stderrUsed = true;
    this.#channel.writeHeld(records);
  }

  /** {@inheritDoc FcgiRequest.end} */
  end(appStatus = 0, protocolStatus: number = ProtocolStatus.FCGI_REQUEST_COMPLETE): void {
    if (this.#ending) return;
    const endRequest = encodeEndRequest(this.requestId, appStatus, protocolStatus);
    this.#ending = true;
    // The body not read is not wanted: free it, and let the connection skip the rest of it.
    this.#inputDone = true;
    this.#stdin?.destroy();
    this.#channel.resumeInput();
    // Also when the handler destroyed stdout: END_REQUEST is still owed.
    whenWritableDone(this.stdout, () => {
      this.#finish(endRequest);
    });
    this.stdout.end();
  }

  #writeStdout(chunks: { chunk: Buffer }[], callback: () => void): void {
    if (this.aborted) {
      callback();
      return;
    }
    const records: Buffer[] = [];
    for (const { chunk } of chunks) {
      for (const part of encodeStream(RecordType.FCGI_STDOUT, this.requestId, chunk)) records.push(part);
    }
    if (records.length === 0 || this.#channel.writeHeld(records)) callback();
    else this.#channel.whenDrained(callback);
  }

  #finish(endRequest: Buffer): void {
    const records = [encodeStreamEnd(RecordType.FCGI_STDOUT, this.requestId)];
    if (this.#stderrUsed) records.push(encodeStreamEnd(RecordType.FCGI_STDERR, this.requestId));
    records.push(endRequest);
    this.#channel.write(records);
    this.#channel.done(this);
  }
}
