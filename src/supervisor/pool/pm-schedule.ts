// This file implements when a pool's pm policy runs, from the perspective of the population that
// owns the policy: when a request has to wait (once per turn of the event loop, however many
// wait), and once a second while requests flow (PHP-FPM's idle-server maintenance), then once
// more after they stop; never per request, and no timer while the pool is quiet.

/** How often the policy looks at a pool while requests flow (PHP-FPM checks each second). */
export const MAINTENANCE_MS = 1000;

/** The triggers of one pool's policy run (`scale`). */
export class PmSchedule {
  readonly #scale: () => void;
  readonly #ticks: boolean;
  #timer: NodeJS.Timeout | undefined;
  /** A worker took a request since the last tick. */
  #active = false;
  #scheduled = false;
  #stopped = false;

  /**
   * @param scale - runs the policy
   * @param ticks - whether the policy needs the maintenance tick (`dynamic`, `ondemand`; a
   *   `static` pool only replaces workers that are gone)
   */
  constructor(scale: () => void, ticks: boolean) {
    this.#scale = scale;
    this.#ticks = ticks;
  }

  /** A request has to wait: run the policy once this turn of the event loop is done. O(1). */
  demand(): void {
    if (!this.#ticks || this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    queueMicrotask(this.#runScheduled);
  }

  /** A worker took a request: the maintenance tick runs within a second. O(1). */
  activity(): void {
    this.#active = true;
    if (this.#timer === undefined && this.#ticks && !this.#stopped) this.#timer = setTimeout(this.#tick, MAINTENANCE_MS);
  }

  /** The pool stops: no more runs. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #runScheduled = (): void => {
    this.#scheduled = false;
    if (!this.#stopped) this.#scale();
  };

  readonly #tick = (): void => {
    this.#timer = undefined;
    const active = this.#active;
    this.#active = false;
    this.#scale();
    if (active && !this.#stopped) this.#timer = setTimeout(this.#tick, MAINTENANCE_MS);
  };
}
