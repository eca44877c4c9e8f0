// This file implements one FastCGI request as the supervisor relays it, from the perspective of
// the request's own life: one state machine (one transition function, an exhaustive switch) owns
// where it is (params, routing, queued, active, aborting, finished), holds what arrived before a
// worker took it, and relays what comes back. It knows the connection it came on only as its
// handler and the worker running it only as its upstream: no pointer into a pool or a channel.
// Its response waits for its body: FCGI_STDOUT goes through an output hold until the web server
// has sent the empty FCGI_STDIN record, or the script has ended (output-hold.ts).
import type { RequestUsage } from '../pool/request-usage.ts';
import { tmpdir } from 'node:os';
import { errorPage } from '../../cgi/error-page.ts';
import type { PoolConfig } from '../../config/schema.ts';
import { RecordType } from '../../fastcgi/constants.ts';
import type { NameValuePairs } from '../../fastcgi/name-value.ts';
import { encodeRecord } from '../../fastcgi/record.ts';
import { HeldResponse } from './held-response.ts';
import { HeldStdin } from './held-stdin.ts';
import { nextState, type RelayEvent, type RelayState } from './relay-state.ts';
import { cgiHeadStatus } from './head-status.ts';

export { nextState, type RelayEvent, type RelayState } from './relay-state.ts';

/** The connection a request came on, as the request reports to it (`WebConnection`). */
export interface RequestHandler {
  /** Writes encoded records to the web server; false when its buffer is full. */
  write(buffers: readonly Buffer[]): boolean;
  /**
   * Holds writes until the matching {@link RequestHandler.uncork}, so the records relayed from one
   * read of the worker's channel leave in one `writev` (calls nest).
   */
  cork(): void;
  /** Releases one {@link RequestHandler.cork}; the last one sends what was held. */
  uncork(): void;
  /** Calls `resume` once the web server's socket has drained. */
  onDrain(resume: () => void): void;
  /**
   * One more request asks the connection to stop reading the web server's socket (STDIN
   * backpressure); {@link RequestHandler.resumeInput} withdraws one such ask. The socket is read
   * while no request asks (each asks at most once: {@link RelayRequest.pauseInput}).
   */
  pauseInput(): void;
  resumeInput(): void;
  /** The request's END_REQUEST went out (relayed, or after the supervisor's answer). */
  finished(request: RelayRequest): void;
  /**
   * The supervisor answers the request itself (`page`, a whole CGI response), or, when
   * `headersSent` (the worker's head already went out), can only close the connection.
   */
  answer(request: RelayRequest, status: number, page: Buffer, headersSent: boolean): void;
  /** Where held output spills past 64 KiB (`fastcgi_temp_path`). @defaultValue `os.tmpdir()` */
  readonly tempPath?: string;
  /** The output hold's file failed (to log it); the request is then answered 500. */
  holdFailed?(request: RelayRequest, err: Error): void;
  /** Routes `request` (back in `routing`, its params kept) again under the config now in force. */
  reroute(request: RelayRequest): void;
}

/** Where an active request's body and abort go: the worker channel running it. */
export interface Upstream {
  /** Forwards one STDIN content (empty = end of body). */
  stdin(content: Buffer): void;
  /** Sends FCGI_ABORT_REQUEST to the worker. */
  abort(): void;
}

/** The resolved script a request runs (RFC 3875 §3.3, script-path and PATH_INFO), as bytes. */
export interface RoutedScript {
  readonly pool: PoolConfig;
  /** The real path of the script, as the file system names it. */
  readonly scriptFilename: Buffer;
  readonly pathInfo: Buffer;
  /** `SCRIPT_NAME` without the path-info the router split off `SCRIPT_FILENAME`, when it did. */
  readonly scriptName?: Buffer;
  /** The params the supervisor adds for the worker (`overrides.ts`), encoded once by the router. */
  readonly overrides?: Buffer;
}

/**
 * STDIN held per request before a worker takes it, before the socket is paused (research:
 * pitfall 3), in bytes kept alive (`held-stdin.ts`: small records coalesced).
 */
export const MAX_HELD_BYTES = 64 * 1024;

/** One FastCGI request relayed from a web-server connection to a worker. */
export class RelayRequest {
  readonly requestId: number;
  readonly keepConn: boolean;
  readonly startedAtMs: number;
  /** Pid of the worker that ran it, set by the worker's handle; 0 for the supervisor's own answers. */
  workerPid = 0;
  /** What it used (CPU %, memory), set by the worker's handle when its pool measures it. */
  usage: RequestUsage | undefined;
  readonly #handler: RequestHandler;
  #state: RelayState = 'params';
  #params: NameValuePairs | undefined;
  #route: RoutedScript | undefined;
  /** STDIN contents received before a worker took the request. */
  readonly #held = new HeldStdin();
  #upstream: Upstream | undefined;
  #stdoutBytes = 0;
  #queuedAtMs = 0;
  /** The web server has not sent the empty FCGI_STDIN record yet: FCGI_STDOUT is held. */
  #bodyOpen = true;
  /** The response held back (made by the first FCGI_STDOUT while the body is open). */
  #response: HeldResponse | undefined;
  #status = 0;
  /** This request asked its connection to stop reading (each request asks at most once). */
  #inputPaused = false;
  /**
   * STDIN bytes that may wait in the worker channel's buffer before the connection stops
   * reading: 0 (stop at once) unless the connection carries other requests that must not
   * stall behind this one's slow reader (multiplexing).
   */
  stdinWindowBytes = 0;

  constructor(requestId: number, keepConn: boolean, handler: RequestHandler, nowMs: number) {
    this.requestId = requestId;
    this.keepConn = keepConn;
    this.#handler = handler;
    this.startedAtMs = nowMs;
  }

  /** Where the request is now. */
  get state(): RelayState {
    return this.#state;
  }

  /** The web server's params (set once they are complete). */
  get params(): NameValuePairs | undefined {
    return this.#params;
  }

  /** The script it runs, once routed. */
  get route(): RoutedScript | undefined {
    return this.#route;
  }

  /** Bytes of FCGI_STDOUT content sent to the web server (0 = no header went out). */
  get stdoutBytes(): number {
    return this.#stdoutBytes;
  }

  /**
   * The HTTP status of its answer: the supervisor's own, or the one in the worker's first
   * FCGI_STDOUT record (`Status:` line of the normalized CGI head; 200 without one, 302 for a
   * bare `Location:`); 0 before any answer. For the access log and the status page.
   */
  get status(): number {
    return this.#status;
  }

  /** When it entered its pool's queue (ms on the pool's clock); 0 if it never did. */
  get queuedAtMs(): number {
    return this.#queuedAtMs;
  }

  /** The params are complete: routing starts. @returns false when the request is over. */
  routing(params: NameValuePairs): boolean {
    if (!this.#to('routing')) return false;
    this.#params = params;
    return true;
  }

  /** The router chose its script (the request still waits for a pool to take it). */
  routed(route: RoutedScript): void {
    if (this.#state === 'routing') this.#route = route;
  }

  /**
   * A reload retired the pool it waits in: it is routed again under the new config (a narrowed
   * `root` or `match` refuses it, another pool may take it), never run by the successor pool
   * on the old route.
   * @returns false when it was not waiting in a queue
   */
  reroute(): boolean {
    if (this.#state !== 'queued' || !this.#to('routing')) return false;
    this.#route = undefined;
    this.#handler.reroute(this);
    return true;
  }

  /** It waits in its pool's queue from `nowMs`. */
  queue(nowMs: number): void {
    if (this.#to('queued')) this.#queuedAtMs = nowMs;
  }

  /**
   * A worker channel takes it: from now on its body goes to `upstream`.
   * @returns the STDIN held so far (to send after the params), or `undefined` when the request
   *   cannot run (over, or not routed)
   */
  assign(upstream: Upstream): readonly Buffer[] | undefined {
    if (this.#route === undefined || !this.#to('assigned')) return undefined;
    this.#upstream = upstream;
    const held = this.#held.take();
    this.resumeInput(); // what it held goes to the worker now; the channel asks again when full
    return held;
  }

  /**
   * One STDIN content from the web server: held until a worker takes it, then forwarded. The
   * empty one (the body ended) releases held output.
   */
  stdin(content: Buffer): void {
    if (content.length === 0) {
      this.#bodyOpen = false;
      this.#response?.release();
    }
    switch (this.#state) {
      case 'params':
      case 'routing':
      case 'queued':
        this.#held.push(content);
        if (this.#held.bytes > MAX_HELD_BYTES) this.pauseInput();
        return;
      case 'active':
        this.#upstream?.stdin(content);
        return;
      case 'aborting':
      case 'releasing':
      case 'finished':
        return;
    }
  }

  /**
   * Relays one FCGI_STDOUT or FCGI_STDERR record of the worker under the web server's id; while
   * the body is still arriving, FCGI_STDOUT goes to the hold instead (one check per record).
   * @returns false when the web server's socket is full or the hold asks to wait (the caller
   *   waits for {@link RelayRequest.onDrain})
   */
  output(type: number, content: Buffer): boolean {
    if (type === RecordType.FCGI_STDOUT && this.#status === 0 && content.length > 0) this.#status = cgiHeadStatus(content);
    if (this.#response !== undefined || (this.#bodyOpen && type === RecordType.FCGI_STDOUT)) {
      return (this.#response ??= this.#holdResponse()).output(type, content);
    }
    if (type === RecordType.FCGI_STDOUT) this.#stdoutBytes += content.length;
    return this.#handler.write(encodeRecord(type, this.requestId, content));
  }

  /** The worker's END_REQUEST: relayed (after the held output, if any), and the request is over. */
  ended(content: Buffer): void {
    if (this.#response?.active === true) {
      // The script has ended: what it wrote goes out now, body read or not, then END_REQUEST.
      if (!this.#to('ending')) return;
      this.#upstream = undefined;
      this.#response.end(content);
      return;
    }
    if (!this.#to('ended')) return;
    this.#handler.write(encodeRecord(RecordType.FCGI_END_REQUEST, this.requestId, content));
    this.#upstream = undefined;
    this.resumeInput();
    this.#handler.finished(this);
  }

  /**
   * The supervisor answers instead of a worker (a refusal, overload, the worker died): `page`
   * as the whole response, or a closed connection once the worker's head went out.
   */
  answer(status: number, page: Buffer): void {
    if (!this.#to('answered')) return;
    if (this.#stdoutBytes === 0) this.#status = status;
    this.#upstream = undefined;
    this.#response?.drop();
    this.resumeInput();
    this.#handler.answer(this, status, page, this.#stdoutBytes > 0);
  }

  /**
   * The web server gave up on it (FCGI_ABORT_REQUEST, or its connection closed). A running
   * request's worker is told (its END_REQUEST ends it); any other is over at once.
   * @returns the state it was in (`queued`: its pool must forget it)
   */
  abort(): RelayState {
    const was = this.#state;
    if (!this.#to('aborted')) return was;
    this.#bodyOpen = false;
    this.#response?.drop();
    if (was === 'active') this.#upstream?.abort();
    else this.#held.clear();
    this.resumeInput();
    return was;
  }

  /** The web server's socket drained, or the hold takes output again (for a paused channel). */
  onDrain(resume: () => void): void {
    if (this.#response?.onDrain(resume) !== true) this.#handler.onDrain(resume);
  }

  /** Holds / releases the web server's writes around one read of the worker's channel. */
  cork(): void {
    this.#handler.cork();
  }

  uncork(): void {
    this.#handler.uncork();
  }

  /**
   * The worker's channel (or what it holds) is full: the connection stops reading until
   * {@link RelayRequest.resumeInput}. A request pauses its connection at most once; the
   * connection reads again once no request of it is paused.
   * @returns true when this call paused (false: it already was)
   */
  pauseInput(): boolean {
    if (this.#inputPaused) return false;
    this.#inputPaused = true;
    this.#handler.pauseInput();
    return true;
  }

  /** Releases this request's pause (a no-op when it has none). */
  resumeInput(): void {
    if (!this.#inputPaused) return;
    this.#inputPaused = false;
    this.#handler.resumeInput();
  }

  /** The response held while the body arrives (held-response.ts), relabelled to this id. */
  #holdResponse(): HeldResponse {
    return new HeldResponse(this.requestId, this.#handler, this.#handler.tempPath ?? tmpdir(), {
      sent: (bytes) => { this.#stdoutBytes += bytes; },
      failed: (err) => {
        const upstream = this.#upstream;
        this.#handler.holdFailed?.(this, err);
        this.answer(500, errorPage(500));
        upstream?.abort(); // the worker still runs it: its END_REQUEST frees the channel
      },
      released: (endContent) => {
        this.#response = undefined;
        if (endContent === undefined || !this.#to('released')) return;
        this.#handler.write(encodeRecord(RecordType.FCGI_END_REQUEST, this.requestId, endContent));
        this.#handler.finished(this);
      },
    });
  }

  /** The one transition: applies {@link nextState}; false when `event` does not apply now. */
  #to(event: RelayEvent): boolean {
    const next = nextState(this.#state, event);
    if (next === undefined) return false;
    this.#state = next;
    return true;
  }
}
