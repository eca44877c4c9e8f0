// This file implements a web-server connection's two timeouts from the perspective of the
// supervisor's file descriptors: a connection must send a request's BEGIN_REQUEST and whole
// PARAMS within `client_header_timeout` of its accept (or of its first byte after an idle
// time), and may stay idle between requests for `keepalive_timeout`. Before, 2,500 idle and
// 200 slowloris connections (1 byte per 100 ms) were held for ever (issue 10, item 4). While a
// request runs, no connection timer runs: the request's own (`queue.timeout`,
// `request_terminate_timeout`) bound it. One timer per connection at most; none once closed.

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

/** One connection's timer. */
export class ConnectionClock {
  #phase: ConnectionPhase = 'header';
  #timer: NodeJS.Timeout | undefined;
  readonly #timeouts: () => ConnectionTimeouts;
  readonly #expired: (key: TimeoutKey, timeoutMs: number) => void;

  /**
   * Starts in `header` (a connection just accepted).
   * @param expired - the limit passed: the caller closes the connection
   */
  constructor(timeouts: () => ConnectionTimeouts, expired: (key: TimeoutKey, timeoutMs: number) => void) {
    this.#timeouts = timeouts;
    this.#expired = expired;
    this.#arm('client_header_timeout', timeouts().clientHeaderTimeoutMs);
  }

  get phase(): ConnectionPhase {
    return this.#phase;
  }

  /** Bytes arrived: an idle connection starts reading a request header. */
  received(): void {
    if (this.#phase === 'idle') this.#enter('header');
  }

  /** A request's params are complete: no connection timer while it runs. */
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
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #enter(phase: 'header' | 'busy' | 'idle'): void {
    if (phase === this.#phase) return;
    this.#phase = phase;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    switch (phase) {
      case 'header':
        this.#arm('client_header_timeout', this.#timeouts().clientHeaderTimeoutMs);
        return;
      case 'idle':
        this.#arm('keepalive_timeout', this.#timeouts().keepaliveTimeoutMs);
        return;
      case 'busy':
        return;
    }
  }

  #arm(key: TimeoutKey, ms: number): void {
    if (ms <= 0) return;
    this.#timer = setTimeout(() => {
      this.close();
      this.#expired(key, ms);
    }, ms);
  }
}
