// This file implements a web-server connection's two timeouts from the perspective of the
// supervisor's file descriptors: a connection must send a request's BEGIN_REQUEST and whole
// PARAMS within `client_header_timeout` of its accept (or of its first byte after an idle
// time), and may stay idle between requests for `keepalive_timeout`. Before, 2,500 idle and
// 200 slowloris connections (1 byte per 100 ms) were held for ever (issue 10, item 4). While a
// request runs, no connection timer runs: the request's own (`queue.timeout`,
// `request_terminate_timeout`) bound it. Two timers per connection at most (deadline.ts), each
// firing about once per limit; none once closed.
import { Deadline, type ClockMs } from '../../deadline.ts';

/** The two limits, in ms (`0` = none); read when a phase starts, so a reload applies. */
export interface ConnectionTimeouts {
  /** @see nginx `client_header_timeout` */
  readonly clientHeaderTimeoutMs: number;
  /** @see nginx `keepalive_timeout` */
  readonly keepaliveTimeoutMs: number;
}

/**
 * Where a connection is: reading a request's BEGIN_REQUEST and PARAMS (`header`), carrying a
 * request whose params are complete (`busy`), with nothing in flight (`idle`), or closed.
 */
export type ConnectionPhase = 'header' | 'busy' | 'idle' | 'closed';

/** Which limit a connection passed, by its config key. */
export type TimeoutKey = 'client_header_timeout' | 'keepalive_timeout';

/**
 * One connection's limits: a {@link Deadline} each for the header and the keep-alive wait, so
 * a request on a kept-alive connection moves two numbers instead of creating and clearing two
 * timers (each timer fires about once per limit while requests flow, and re-arms or stops).
 */
export class ConnectionClock {
  #phase: ConnectionPhase = 'header';
  readonly #timeouts: () => ConnectionTimeouts;
  readonly #header: Deadline;
  readonly #keepalive: Deadline;
  /** The limit of the phase a deadline is set for, in ms (what `expired` reports). */
  #headerMs = 0;
  #keepaliveMs = 0;

  /**
   * Starts in `header` (a connection just accepted).
   * @param expired - the limit passed: the caller closes the connection
   * @param now - the clock (ms) @defaultValue `Date.now`
   */
  constructor(
    timeouts: () => ConnectionTimeouts,
    expired: (key: TimeoutKey, timeoutMs: number) => void,
    now: ClockMs = Date.now,
  ) {
    this.#timeouts = timeouts;
    const expire = (key: TimeoutKey, ms: () => number) => (): void => {
      this.close();
      expired(key, ms());
    };
    this.#header = new Deadline(expire('client_header_timeout', () => this.#headerMs), { now });
    this.#keepalive = new Deadline(expire('keepalive_timeout', () => this.#keepaliveMs), { now });
    this.#startHeader();
  }

  get phase(): ConnectionPhase {
    return this.#phase;
  }

  /** Bytes arrived: an idle connection starts reading a request header. */
  received(): void {
    if (this.#phase === 'idle') this.#enter('header');
  }

  /** A request's params are complete: no connection limit while it runs. */
  busy(): void {
    if (this.#phase !== 'closed') this.#enter('busy');
  }

  /** No request in flight any more: the keep-alive wait starts. */
  idle(): void {
    if (this.#phase !== 'closed') this.#enter('idle');
  }

  /** The connection is gone (or closing): no timer from now on. */
  close(): void {
    this.#phase = 'closed';
    this.#header.close();
    this.#keepalive.close();
  }

  #enter(phase: 'header' | 'busy' | 'idle'): void {
    if (phase === this.#phase) return;
    this.#phase = phase;
    this.#header.withdraw();
    this.#keepalive.withdraw();
    switch (phase) {
      case 'header':
        this.#startHeader();
        return;
      case 'idle': {
        const ms = this.#timeouts().keepaliveTimeoutMs;
        this.#keepaliveMs = ms;
        if (ms > 0) this.#keepalive.after(ms);
        return;
      }
      case 'busy':
        return;
    }
  }

  #startHeader(): void {
    const ms = this.#timeouts().clientHeaderTimeoutMs;
    this.#headerMs = ms;
    if (ms > 0) this.#header.after(ms);
  }
}
