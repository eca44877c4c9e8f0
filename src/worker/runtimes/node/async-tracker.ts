// This file implements the bookkeeping of a script's asynchronous work from the perspective of
// the node runtime, which must end a request when the script is done as a real process would:
// an AsyncLocalStorage marks script code, an async hook records every resource that code
// creates (timers, sockets, requests, child processes) until it is finished, and the run asks
// whether any of them still holds the "process" open.
import { AsyncLocalStorage, createHook, type AsyncHook } from 'node:async_hooks';
import { clearTimer, destroyResource, isTimer, liveness, type TrackedResource } from './liveness.ts';

/** The store that marks script code; one request runs at a time, so one marker suffices. */
const SCRIPT = Symbol('cgi-fpm node script');

/** The store that marks the runtime's own code called from script code (see `outside`). */
const RUNTIME = Symbol('cgi-fpm node runtime');

/**
 * Resource types never recorded: promises settle only through other resources, and ticks and
 * microtasks always run before the next turn of the loop, where the runtime looks.
 */
const UNTRACKED: ReadonlySet<string> = new Set(['PROMISE', 'TickObject', 'Microtask']);

/**
 * Records the async resources created by script code, in every run of one runtime. Resources
 * created by a previous run's leftovers (a keep-alive socket reused later) still count, since
 * only one script runs at a time.
 * @example
 * ```ts
 * const tracker = new AsyncTracker();
 * tracker.enable();
 * tracker.watch(() => setImmediate(checkDone));   // something changed: look again
 * tracker.run(() => script());                     // its timers, sockets… are recorded
 * if (!tracker.busy()) done();
 * ```
 */
export class AsyncTracker {
  readonly #storage = new AsyncLocalStorage<symbol>();
  readonly #live = new Map<number, TrackedResource>();
  readonly #hook: AsyncHook;
  /**
   * The `destroy` callback, in a hook of its own enabled only once a script creates something
   * other than a timer: while any enabled hook has `destroy`, Node tracks the garbage
   * collection of every promise and queues a destroy event for every tick, which cost a
   * synchronous hello-world script about a tenth of its request. Timers need no destroy event
   * (`liveness` reads their `_destroyed` flag); handles and requests do.
   */
  readonly #destroyHook: AsyncHook;
  #destroyEnabled = false;
  #enabled = false;
  #onChange: (() => void) | undefined;

  constructor() {
    this.#hook = createHook({
      init: (asyncId, type, _triggerAsyncId, resource) => {
        if (UNTRACKED.has(type) || this.#storage.getStore() !== SCRIPT) return;
        const tracked: TrackedResource = { type, resource };
        this.#live.set(asyncId, tracked);
        // Native resources report their destroy to the hooks enabled at that time.
        if (!this.#destroyEnabled && !isTimer(tracked)) {
          this.#destroyEnabled = true;
          this.#destroyHook.enable();
        }
      },
      after: (asyncId) => {
        // A script callback just returned: it may have unref'd or finished something. (Its own
        // resource is recorded, or its store still marks script code.)
        if (this.#onChange === undefined) return;
        if (this.#live.has(asyncId) || this.#storage.getStore() === SCRIPT) this.#onChange();
      },
    });
    this.#destroyHook = createHook({
      destroy: (asyncId) => {
        if (this.#live.delete(asyncId)) this.#onChange?.();
      },
    });
  }

  /**
   * Starts recording, once per runtime: toggling a hook per request (which re-installs Node's
   * promise hooks each time) cost more than the hook's calls between requests.
   */
  enable(): void {
    if (this.#enabled) return;
    this.#enabled = true;
    this.#hook.enable();
  }

  /** Forgets every resource (a run ended) and drops the `destroy` hook until one is needed. */
  reset(): void {
    if (this.#destroyEnabled) {
      this.#destroyEnabled = false;
      this.#destroyHook.disable();
    }
    this.#live.clear();
  }

  /** Stops recording and forgets every resource. */
  disable(): void {
    this.reset();
    if (this.#enabled) {
      this.#enabled = false;
      this.#hook.disable();
    }
  }

  /** Calls `fn` as script code: what it creates, and what that creates in turn, is recorded. */
  run<T>(fn: () => T): T {
    return this.#storage.run(SCRIPT, fn);
  }

  /**
   * Calls `fn` as runtime code (nothing it creates is recorded), even from script code. (A
   * store of its own rather than `AsyncLocalStorage.exit`, which in Node 20 disables and
   * re-enables the storage's async hook, and with it the promise hooks, on every call.)
   */
  outside<T>(fn: () => T): T {
    return this.#storage.run(RUNTIME, fn);
  }

  /**
   * Calls `onChange` (synchronously, from inside async hooks: it must only schedule work) when a
   * recorded resource is destroyed or a script callback returns. Replaces any previous watcher.
   */
  watch(onChange: () => void): void {
    this.#onChange = onChange;
  }

  /** Stops calling the watcher. */
  unwatch(): void {
    this.#onChange = undefined;
  }

  /** True while a recorded resource would keep a process alive (see `liveness`). */
  busy(): boolean {
    for (const [asyncId, tracked] of this.#live) {
      const state = liveness(tracked);
      if (state === 'alive') return true;
      if (state === 'dead') this.#live.delete(asyncId);
    }
    return false;
  }

  /** Recorded resources not yet destroyed, for tests and diagnostics. */
  get size(): number {
    return this.#live.size;
  }

  /**
   * Cancels every recorded timer and immediate (a process that ended never runs them) and,
   * with `destroyHandles`, destroys, closes or kills every other resource that has a way to
   * (sockets, servers, child processes); pending requests are left to complete.
   */
  sweep(destroyHandles: boolean): void {
    for (const [asyncId, tracked] of this.#live) {
      if (isTimer(tracked)) {
        clearTimer(tracked);
        this.#live.delete(asyncId);
      } else if (destroyHandles) {
        destroyResource(tracked);
      }
    }
  }
}
