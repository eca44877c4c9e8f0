// This file implements the abort of one run from the perspective of the worker's request loop,
// which stops a run on `request_terminate_timeout`, a client abort or the parent's loss: most
// runs are never aborted, so the `AbortSignal` a runtime may read (an `AbortController`, an
// EventTarget, its listeners) is made only when read; runtimes on the hot path register a plain
// callback instead (`RuntimeRequest.onAbort`).

/** The abort state of one run: a flag and callbacks, and an `AbortSignal` on demand. */
export class RunAbort {
  #reason: unknown;
  #aborted = false;
  #listeners: (() => void)[] | undefined;
  #controller: AbortController | undefined;

  /** True once {@link RunAbort.abort} was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** The same abort as an `AbortSignal` (made on first read; aborted already if it was). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /**
   * Calls `listener` once on abort (at once if already aborted).
   * @returns the function that removes the listener
   */
  onAbort(listener: () => void): () => void {
    if (this.#aborted) {
      listener();
      return noop;
    }
    (this.#listeners ??= []).push(listener);
    return () => {
      const listeners = this.#listeners;
      if (listeners === undefined) return;
      const at = listeners.indexOf(listener);
      if (at >= 0) listeners.splice(at, 1);
    };
  }

  /**
   * Aborts the run (once; later calls are no-ops): the listeners run, then the signal's.
   * @param reason - the signal's `reason`; absent: an `AbortError` DOMException, as
   *   `AbortController.abort()` makes
   */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
    this.#controller?.abort(this.#reason);
  }
}

function noop(): void {
  // Nothing to remove: the listener already ran.
}
