// This file implements teardown from the perspective of a bench that must leave nothing
// running: every started process and the scratch directory register a stop, and the stops run
// once, newest first, at the end or on SIGINT/SIGTERM.
/** A LIFO list of asynchronous stops. */
export class Cleanup {
  #stops: { readonly what: string; readonly stop: () => Promise<unknown> }[] = [];
  #running: Promise<void> | undefined;

  /** True once {@link Cleanup.run} was called: whatever is still to be measured is moot. */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Registers `stop`, run before everything registered earlier. */
  add(what: string, stop: () => Promise<unknown>): void {
    this.#stops.push({ what, stop });
  }

  /**
   * Runs every stop, newest first, once; a failing stop is reported to `log` and the others
   * still run. Later calls return the same promise.
   */
  run(log: (line: string) => void): Promise<void> {
    this.#running ??= (async () => {
      for (const { what, stop } of this.#stops.splice(0).reverse()) {
        try {
          await stop();
        } catch (err) {
          log(`bench: stopping ${what}: ${(err as Error).message}`);
        }
      }
    })();
    return this.#running;
  }
}
