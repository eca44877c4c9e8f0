// This file implements the bookkeeping of a script's asynchronous work from the perspective of
// the node runtime, which must end a request when the script is done as a real process would,
// on Node's public APIs only: an AsyncLocalStorage marks script code; what keeps the event loop
// alive is counted by `process.getActiveResourcesInfo()` against the counts at the run's start;
// what that API does not list (thread-pool jobs, worker threads) and what a run must clean up
// (its timers, its child processes) is recorded by wrappers of the public functions that start
// them (script-timers.ts, unlisted-work.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import { syncBuiltinESMExports } from 'node:module';
import { anyBeyond, beyond, countActiveResources, type ResourceCounts } from './active-resources.ts';
import { installTimerHooks, TimerRecords, type TimerOwner } from './script-timers.ts';
import { installWorkHooks, WorkRecords, type WorkOwner } from './unlisted-work.ts';

/** The store that marks script code; one request runs at a time, so one marker suffices. */
const SCRIPT = Symbol('cgi-fpm node script');

/** The store that marks the runtime's own code called from script code (see `outside`). */
const RUNTIME = Symbol('cgi-fpm node runtime');

/**
 * What the script of the run in progress keeps alive, in every run of one runtime.
 * @example
 * ```ts
 * const activity = new ScriptActivity();
 * activity.enable();                               // once per worker, before any script
 * activity.begin();                                // a run starts: its baseline
 * activity.run(() => script());                    // its timers, jobs, children… count
 * if (!activity.busy()) done();                    // asked once per loop turn (LoopWatch)
 * ```
 */
export class ScriptActivity implements TimerOwner, WorkOwner {
  readonly #storage = new AsyncLocalStorage<symbol>();
  readonly #timers = new TimerRecords();
  readonly #work = new WorkRecords();
  #uninstall: (() => void)[] = [];
  #baseline: ResourceCounts = new Map();
  #onChange: (() => void) | undefined;

  /**
   * Wraps the public functions that start timers and unlisted work (once per worker; before
   * any script runs and before built-ins are captured for `state.globals = "reset"`).
   */
  enable(): void {
    if (this.#uninstall.length > 0) return;
    this.#uninstall = [installTimerHooks(this, this.#timers), installWorkHooks(this, this.#work)];
    // ES modules' named imports of built-ins (`import { gzip } from 'node:zlib'`) see them too.
    syncBuiltinESMExports();
  }

  /** Puts the original functions back. */
  disable(): void {
    for (const uninstall of this.#uninstall.splice(0)) uninstall();
    syncBuiltinESMExports();
  }

  /** Calls `fn` as script code: what it starts, and what that starts in turn, is the script's. */
  run<T>(fn: () => T): T {
    return this.#storage.run(SCRIPT, fn);
  }

  /**
   * Calls `fn` as runtime code, even from script code. (A store of its own rather than
   * `AsyncLocalStorage.exit`, which in Node 20 disables and re-enables the storage's async
   * hook, and with it the promise hooks, on every call.)
   */
  outside<T>(fn: () => T): T {
    return this.#storage.run(RUNTIME, fn);
  }

  /** True when called from script code. */
  isScript(): boolean {
    return this.#storage.getStore() === SCRIPT;
  }

  /** Calls `onChange` (from a wrapper: it must only schedule work) when a job or timer of the script finished. */
  watch(onChange: () => void): void {
    this.#onChange = onChange;
  }

  unwatch(): void {
    this.#onChange = undefined;
  }

  /** @internal for the wrappers */
  changed(): void {
    this.#onChange?.();
  }

  /**
   * A run starts: what keeps the loop alive now is the worker's (its FastCGI channel, its IPC
   * channel, its request timer), not the script's.
   */
  begin(): void {
    this.#baseline = this.#count();
  }

  /** True while something the script started would keep its process alive. */
  busy(): boolean {
    return this.#work.busy() || anyBeyond(this.#baseline, this.#count());
  }

  /** What the script left alive (`TCPServerWrap`, `Timeout×2`, `thread-pool job`…), for the log. */
  leftovers(): string[] {
    return [...beyond(this.#baseline, this.#count()), ...this.#work.describe()];
  }

  /**
   * Clears the script's pending timers (a process that ended never runs them) and, with `stop`
   * (it exited, failed or was aborted), terminates its worker threads, destroys its zlib streams
   * and kills its child processes. Sockets and servers are not the runtime's to find: a run that
   * leaves one open is reported by {@link ScriptActivity.leftovers}.
   */
  sweep(stop: boolean): void {
    this.#timers.clearScriptTimers();
    if (stop) this.#work.stop();
  }

  /** The run is over: its records are forgotten. */
  end(): void {
    this.#timers.clearScriptTimers();
    this.#work.forget();
    this.#onChange = undefined;
  }

  #count(): ResourceCounts {
    return countActiveResources(this.#timers.workerImmediates());
  }
}
