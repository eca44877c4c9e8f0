// This file implements the moments the node runtime asks "is the script done?", from the
// perspective of a run that has no event for "the last thing the script started has finished"
// (Node's public API lists what keeps a process alive, but does not say when that changes): it
// looks promptly after each change it hears of, once per turn of the event loop that something
// else woke (an unref'd immediate, which never keeps the loop spinning), and, for what ends
// silently in the timers phase, after a delay that doubles from 1 ms to 100 ms while it waits.
import { ownTimers } from './script-timers.ts';

/** Longest wait between two looks while nothing is heard of. */
export const MAX_LOOK_DELAY_MS = 100;

/**
 * Calls `look` until it returns true. Runs on the worker's own timer functions (captured before
 * any script ran), with unref'd timers, so it never keeps the worker alive nor counts among a
 * script's resources.
 */
export class LoopWatch {
  readonly #look: () => boolean;
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delayMs = 1;
  #stopped = false;

  /** @param look - returns true once the wait is over; called from the check phase */
  constructor(look: () => boolean) {
    this.#look = look;
  }

  /** Something changed: look in this turn's check phase (a ref'd immediate: poll does not block). */
  poke(): void {
    if (this.#stopped) return;
    this.#delayMs = 1;
    this.#lookSoon();
  }

  /** No more looks. */
  stop(): void {
    this.#stopped = true;
    if (this.#immediate !== undefined) ownTimers.clearImmediate(this.#immediate);
    if (this.#timer !== undefined) ownTimers.clearTimeout(this.#timer);
    this.#immediate = undefined;
    this.#timer = undefined;
  }

  #lookSoon(): void {
    if (this.#immediate === undefined) this.#immediate = ownTimers.setImmediate(this.#onImmediate);
    else this.#immediate.ref();
  }

  readonly #onImmediate = (): void => {
    this.#immediate = undefined;
    if (this.#stopped) return;
    if (this.#look()) {
      this.stop();
      return;
    }
    // Next turn, whatever wakes the loop; and a timer for what ends in the timers phase, after
    // which poll could otherwise block before the next check phase.
    this.#immediate = ownTimers.setImmediate(this.#onImmediate).unref();
    if (this.#timer === undefined) {
      this.#timer = ownTimers.setTimeout(this.#onTimer, this.#delayMs).unref();
      this.#delayMs = Math.min(this.#delayMs * 2, MAX_LOOK_DELAY_MS);
    }
  };

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (!this.#stopped) this.#lookSoon();
  };
}
