// This file implements one FastCGI request as the supervisor relays it, from the perspective of
// the request's own life: one state machine (one transition function, an exhaustive switch) owns
// where it is (params, routing, queued, active, aborting, finished), holds what arrived before a
// worker took it, and relays what comes back. It knows the connection it came on only as its
// handler and the worker running it only as its upstream: no pointer into a pool or a channel.
// Its response (relay-response.ts) waits for its body: FCGI_STDOUT goes through an output hold
// until the web server has sent the empty FCGI_STDIN record, or the script has ended.
import type { RequestUsage } from '../pool/request-usage.ts';
import { errorPage } from '../../cgi/error-page.ts';
import { RecordType } from '../../fastcgi/constants.ts';
import type { NameValuePairs } from '../../fastcgi/name-value.ts';
import { encodeRecord } from '../../fastcgi/record.ts';
import { HeldStdin, MAX_HELD_BYTES } from './held-stdin.ts';
import { nextState, type RelayEvent, type RelayState } from './relay-state.ts';
import { RelayResponse, type ResponseSink } from './relay-response.ts';
import type { RoutedScript } from './router.ts';

export { nextState, type RelayEvent, type RelayState } from './relay-state.ts';
export type { RoutedScript } from './router.ts';

/**
 * The connection a request came on, as the request reports to it (`WebConnection`): records
 * written (corked per read of the worker's channel), drains, input paused and resumed.
 */
export interface RequestHandler extends ResponseSink {
  /**
   * Holds writes until the matching {@link RequestHandler.uncork}, so the records relayed from one
   * read of the worker's channel leave in one `writev` (calls nest).
   */
  cork(): void;
  /** Releases one {@link RequestHandler.cork}; the last one sends what was held. */
  uncork(): void;
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

export { MAX_HELD_BYTES } from './held-stdin.ts';

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
  #queuedAtMs = 0;
  /** The worker's answer as it goes to the web server (status, bytes, the hold). */
  readonly #response: RelayResponse;
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
    this.#response = new RelayResponse(requestId, handler, this);
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
    return this.#response.stdoutBytes;
  }

  /** The HTTP status of its answer (`RelayResponse.status`); 0 before any. */
  get status(): number {
    return this.#response.status;
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
   * A reload retired the pool it waits in: routed again under the new config (never run by the
   * successor pool on the old route). @returns false when it was not waiting in a queue
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
    if (content.length === 0) this.#response.bodyEnded();
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
    return this.#response.output(type, content);
  }

  /** The worker's END_REQUEST: relayed (after the held output, if any), and the request is over. */
  ended(content: Buffer): void {
    if (this.#response.holding) {
      // The script has ended: what it wrote goes out now, body read or not, then END_REQUEST.
      if (!this.#to('ending')) return;
      this.#upstream = undefined;
      this.#response.endHeld(content);
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
    this.#response.answered(status);
    this.#upstream = undefined;
    this.resumeInput();
    this.#handler.answer(this, status, page, this.#response.stdoutBytes > 0);
  }

  /**
   * The web server gave up on it (FCGI_ABORT_REQUEST, or its connection closed). A running
   * request's worker is told (its END_REQUEST ends it); any other is over at once.
   * @returns the state it was in (`queued`: its pool must forget it)
   */
  abort(): RelayState {
    const was = this.#state;
    if (!this.#to('aborted')) return was;
    this.#response.aborted();
    if (was === 'active') this.#upstream?.abort();
    else this.#held.clear();
    this.resumeInput();
    return was;
  }

  /** Its response's hold failed (`ResponseOwner`): answered 500, the worker's request aborted. */
  holdFailed(err: Error): void {
    const upstream = this.#upstream;
    this.#handler.holdFailed?.(this, err);
    this.answer(500, errorPage(500));
    upstream?.abort(); // the worker still runs it: its END_REQUEST frees the channel
  }

  /** Its held output went out (`ResponseOwner`), then the worker's END_REQUEST if it came. */
  holdReleased(endContent: Buffer | undefined): void {
    if (endContent === undefined || !this.#to('released')) return;
    this.#handler.write(encodeRecord(RecordType.FCGI_END_REQUEST, this.requestId, endContent));
    this.#handler.finished(this);
  }

  /** The web server's socket drained, or the hold takes output again (for a paused channel). */
  onDrain(resume: () => void): void {
    if (!this.#response.onDrain(resume)) this.#handler.onDrain(resume);
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
   * {@link RelayRequest.resumeInput} (at most once per request). @returns true when this call paused
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

  /** The one transition: applies {@link nextState}; false when `event` does not apply now. */
  #to(event: RelayEvent): boolean {
    const next = nextState(this.#state, event);
    if (next === undefined) return false;
    this.#state = next;
    return true;
  }
}
