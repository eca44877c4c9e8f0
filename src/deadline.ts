// This file implements a deadline that is set and withdrawn on every request (the relay's
// connection limits and backstops, the worker's request_terminate_timeout), from the
// perspective of the relay's hot path: a connection's header and keep-alive limits and a worker
// channel's backstops were one `setTimeout` (a Timeout, a closure, a timer-list insert) and one
// `clearTimeout` per request each. A `Deadline` keeps one timer and moves only a number: setting
// it later than the armed timer costs nothing (the timer, when it fires early, re-arms for what
// is left), withdrawing it costs nothing (the timer, when it fires, finds no deadline and stops).
// A busy connection's timer thus fires about once per limit, not once per request.

/** Milliseconds on a clock that moves forward (`Date.now` unless given). */
export type ClockMs = () => number;

/** One deadline with at most one timer behind it. */
export class Deadline {
  readonly #now: ClockMs;
  readonly #expired: () => void;
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (clock ms). */
  #firesAtMs = 0;
  /** When the deadline passes (clock ms); `Infinity`: none set. */
  #atMs = Infinity;
  readonly #unref: boolean;

  /**
   * @param expired - called once when a set deadline passes (it is then withdrawn)
   * @param options.unref - the timer does not keep the process alive
   */
  constructor(expired: () => void, options: { now?: ClockMs; unref?: boolean } = {}) {
    this.#expired = expired;
    this.#now = options.now ?? Date.now;
    this.#unref = options.unref ?? false;
  }

  /** True while a deadline is set. */
  get set(): boolean {
    return this.#atMs !== Infinity;
  }

  /** The deadline passes `ms` from now (replacing the one set, if any); `ms` > 0. */
  after(ms: number): void {
    const now = this.#now();
    this.#atMs = now + ms;
    // A timer that fires no later than the deadline is kept: it re-arms for the rest then.
    if (this.#timer === undefined || this.#firesAtMs > this.#atMs) this.#arm(ms, now);
  }

  /** No deadline any more (a timer still armed stops when it fires). */
  withdraw(): void {
    this.#atMs = Infinity;
  }

  /** No deadline and no timer (the owner is gone). */
  close(): void {
    this.#atMs = Infinity;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number, now: number): void {
    clearTimeout(this.#timer);
    this.#firesAtMs = now + ms;
    this.#timer = setTimeout(this.#fire, ms);
    if (this.#unref) this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    if (this.#atMs === Infinity) return;
    const now = this.#now();
    if (now < this.#atMs) {
      this.#arm(this.#atMs - now, now);
      return;
    }
    this.#atMs = Infinity;
    this.#expired();
  };
}
