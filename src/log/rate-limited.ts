// This file implements a log event that may happen thousands of times a second (a refused
// connection, a timed-out one) from the perspective of the operator reading the log: at most
// one line per second per event, carrying how many happened since the last line, so a flood
// cannot fill the disk or cost the supervisor a write per connection.
import type { Logger } from 'pino';

/** The shortest time between two lines of one event, in ms. */
export const RATE_LIMIT_INTERVAL_MS = 1000;

/** One log event written at most once per {@link RATE_LIMIT_INTERVAL_MS}. */
export class RateLimitedLog {
  readonly #log: Logger;
  readonly #level: 'info' | 'warn' | 'error';
  readonly #event: string;
  readonly #now: () => number;
  #lastMs = Number.NEGATIVE_INFINITY;
  /** Occurrences not yet written (the last line's included). */
  #count = 0;

  /**
   * @param event - the log message (a stable lowercase event)
   * @param now - clock in ms (injected)
   */
  constructor(log: Logger, level: 'info' | 'warn' | 'error', event: string, now: () => number) {
    this.#log = log;
    this.#level = level;
    this.#event = event;
    this.#now = now;
  }

  /**
   * One occurrence: written now with `fields` and `count` (occurrences since the last line,
   * this one included) when the last line is a second old, else only counted.
   * @returns whether a line was written
   */
  note(fields: Record<string, unknown>): boolean {
    this.#count += 1;
    const now = this.#now();
    if (now - this.#lastMs < RATE_LIMIT_INTERVAL_MS) return false;
    this.#lastMs = now;
    const count = this.#count;
    this.#count = 0;
    this.#log[this.#level]({ ...fields, count }, this.#event);
    return true;
  }
}
