// This file implements one FastCGI request as the supervisor relays it, from the perspective of
// the request's own life: one state machine (one transition function, an exhaustive switch) owns
// where it is (params, routing, queued, active, aborting, finished), holds what arrived before a
// worker took it, and relays what comes back. It knows the connection it came on only as its
// handler and the worker running it only as its upstream: no pointer into a pool or a channel.
import type { PoolConfig } from '../../config/schema.ts';
import { RecordType } from '../../fastcgi/constants.ts';
import type { NameValuePairs } from '../../fastcgi/name-value.ts';
import { encodeRecord } from '../../fastcgi/record.ts';

/**
 * Where a relayed request is: reading its PARAMS, being routed (script resolution), waiting in
 * its pool's queue, running on a worker, aborted while running (its worker owes the
 * END_REQUEST), or finished (nothing more goes to the web server).
 */
export type RelayState = 'params' | 'routing' | 'queued' | 'active' | 'aborting' | 'finished';

/**
 * What happens to a request: its params completed, it was queued, a worker took it, the web
 * server aborted it (record or closed connection), the supervisor answered it itself, or the
 * worker's END_REQUEST was relayed.
 */
export type RelayEvent = 'routing' | 'queued' | 'assigned' | 'aborted' | 'answered' | 'ended';

/**
 * The request's state machine: the state after `event` in `state`, or `undefined` when the
 * event does not apply there (it is then ignored: a late answer, a second abort).
 */
export function nextState(state: RelayState, event: RelayEvent): RelayState | undefined {
  switch (state) {
    case 'params':
      return event === 'routing' ? 'routing' : event === 'aborted' ? 'finished' : undefined;
    case 'routing':
    case 'queued':
      switch (event) {
        case 'queued':
          return 'queued';
        case 'assigned':
          return 'active';
        case 'aborted':
        case 'answered':
          return 'finished';
        case 'routing':
        case 'ended':
          return undefined;
      }
      return undefined;
    case 'active':
      return event === 'aborted' ? 'aborting' : event === 'ended' || event === 'answered' ? 'finished' : undefined;
    case 'aborting':
      return event === 'ended' || event === 'answered' ? 'finished' : undefined;
    case 'finished':
      return undefined;
  }
}

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
}

/** STDIN held per request before a worker takes it, before the socket is paused (research: pitfall 3). */
export const MAX_HELD_BYTES = 64 * 1024;

/** One FastCGI request relayed from a web-server connection to a worker. */
export class RelayRequest {
  readonly requestId: number;
  readonly keepConn: boolean;
  readonly startedAtMs: number;
  readonly #handler: RequestHandler;
  #state: RelayState = 'params';
  #params: NameValuePairs | undefined;
  #route: RoutedScript | undefined;
  /** STDIN contents received before a worker took the request. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #upstream: Upstream | undefined;
  #stdoutBytes = 0;
  #queuedAtMs = 0;
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
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    this.resumeInput(); // what it held goes to the worker now; the channel asks again when full
    return held;
  }

  /** One STDIN content from the web server: held until a worker takes it, then forwarded. */
  stdin(content: Buffer): void {
    switch (this.#state) {
      case 'params':
      case 'routing':
      case 'queued':
        this.#held.push(content);
        this.#heldBytes += content.length;
        if (this.#heldBytes > MAX_HELD_BYTES) this.pauseInput();
        return;
      case 'active':
        this.#upstream?.stdin(content);
        return;
      case 'aborting':
      case 'finished':
        return;
    }
  }

  /**
   * Relays one FCGI_STDOUT or FCGI_STDERR record of the worker under the web server's id.
   * @returns false when the web server's socket is full (the caller waits for {@link RelayRequest.onDrain})
   */
  output(type: number, content: Buffer): boolean {
    if (type === RecordType.FCGI_STDOUT) this.#stdoutBytes += content.length;
    return this.#handler.write(encodeRecord(type, this.requestId, content));
  }

  /** The worker's END_REQUEST: relayed, and the request is over. */
  ended(content: Buffer): void {
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
    this.#upstream = undefined;
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
    if (was === 'active') this.#upstream?.abort();
    else this.#held = [];
    this.resumeInput();
    return was;
  }

  /** The web server's socket drained (for a paused channel). */
  onDrain(resume: () => void): void {
    this.#handler.onDrain(resume);
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

  /** The one transition: applies {@link nextState}; false when `event` does not apply now. */
  #to(event: RelayEvent): boolean {
    const next = nextState(this.#state, event);
    if (next === undefined) return false;
    this.#state = next;
    return true;
  }
}
