// This file implements the timers of a script from the perspective of the node runtime, which
// must clear them when the script's "process" ends (a real process takes its timers with it) and
// must tell its own pending immediates from the script's: the public timer functions
// (`setTimeout`, `setInterval`, `setImmediate` and their `clear…`, on `globalThis` and on the
// `timers` module, which are the same functions) are wrapped once per worker, through a Proxy so
// that their name, length and `util.promisify.custom` are the originals'.
import timers from 'node:timers';

/** A Timeout or an Immediate, as the timer functions return them. */
type Timer = NodeJS.Timeout | NodeJS.Immediate;

/** The worker's own timer functions, as they were when the runtime loaded. */
export const ownTimers = {
  setTimeout: globalThis.setTimeout,
  setInterval: globalThis.setInterval,
  setImmediate: globalThis.setImmediate,
  clearTimeout: globalThis.clearTimeout,
  clearInterval: globalThis.clearInterval,
  clearImmediate: globalThis.clearImmediate,
} as const;

type TimerName = keyof typeof ownTimers;

type AnyFunction = (...args: unknown[]) => unknown;
type ApplyTrap = (target: AnyFunction, thisArg: unknown, args: unknown[]) => unknown;

/** What the wrappers ask and tell the runtime. */
export interface TimerOwner {
  /** True when the caller is script code (its timers are recorded to be cleared). */
  isScript(): boolean;
  /** A script timer's callback returned: the run may be done now. */
  changed(): void;
}

/**
 * The pending timers the wrappers recorded: the script's (to clear when its run ends) and the
 * worker's own immediates (which `process.getActiveResourcesInfo()` counts too, and which the
 * end-of-script check must therefore not hold against the script).
 */
export class TimerRecords {
  readonly #script = new Set<Timer>();
  readonly #workerImmediates = new Set<NodeJS.Immediate>();

  /** Script timers not yet run (once) or cleared. */
  get scriptTimers(): number {
    return this.#script.size;
  }

  /** The worker's own immediates that are pending and ref'd (each counted as `Immediate`). */
  workerImmediates(): number {
    let ref = 0;
    for (const immediate of this.#workerImmediates) if (immediate.hasRef()) ref++;
    return ref;
  }

  /** Clears every script timer still pending (a process that ended never runs them). */
  clearScriptTimers(): void {
    for (const timer of this.#script) clearAny(timer);
    this.#script.clear();
  }

  /** @internal for the wrappers */
  created(timer: Timer, script: boolean, immediate: boolean): void {
    if (script) this.#script.add(timer);
    else if (immediate) this.#workerImmediates.add(timer as NodeJS.Immediate);
  }

  /** @internal for the wrappers: the timer ran (once) or was cleared. */
  gone(timer: unknown): void {
    if (!this.#script.delete(timer as Timer)) this.#workerImmediates.delete(timer as NodeJS.Immediate);
  }

  /** @internal for the wrappers: `clearTimeout(id)` by the number a Timeout converts to. */
  goneById(id: unknown): void {
    for (const timer of this.#script) {
      if (isTimeout(timer) && +timer === Number(id)) {
        this.#script.delete(timer);
        return;
      }
    }
  }
}

function isTimeout(timer: Timer): timer is NodeJS.Timeout {
  return typeof (timer as Partial<NodeJS.Timeout>).refresh === 'function';
}

function clearAny(timer: Timer): void {
  if (isTimeout(timer)) ownTimers.clearTimeout(timer);
  else ownTimers.clearImmediate(timer);
}

/** Who the wrappers report to while installed. */
let active: { readonly owner: TimerOwner; readonly records: TimerRecords } | undefined;
let installed = false;

/** `globalThis` and the `timers` module: where the timer functions live. */
const homes = [globalThis, timers] as unknown as Record<TimerName, unknown>[];

/**
 * Wraps the timer functions (once per worker) and makes `records` the place they record to.
 * Install before any script runs and before the globals are captured for `state.globals`.
 * @returns the function that puts the original functions back
 */
export function installTimerHooks(owner: TimerOwner, records: TimerRecords): () => void {
  active = { owner, records };
  if (!installed) {
    installed = true;
    for (const name of Object.keys(ownTimers) as TimerName[]) {
      const apply = name.startsWith('clear') ? clearTrap : scheduleTrap(name);
      const wrapped = new Proxy(ownTimers[name] as AnyFunction, { apply });
      for (const home of homes) if (home[name] === ownTimers[name]) home[name] = wrapped;
    }
  }
  return uninstallTimerHooks;
}

function uninstallTimerHooks(): void {
  active = undefined;
  if (!installed) return;
  installed = false;
  for (const home of homes) for (const name of Object.keys(ownTimers) as TimerName[]) home[name] = ownTimers[name];
}

function scheduleTrap(name: TimerName): ApplyTrap {
  const once = name !== 'setInterval';
  const immediate = name === 'setImmediate';
  return (target, thisArg, args) => {
    const hooks = active;
    if (hooks === undefined || typeof args[0] !== 'function') return Reflect.apply(target, thisArg, args);
    const callback = args[0] as AnyFunction;
    const script = hooks.owner.isScript();
    // The worker's own timeouts are not recorded: they stay the same through a run.
    if (!script && !immediate) return Reflect.apply(target, thisArg, args);
    const { records, owner } = hooks;
    function fired(this: unknown, ...callbackArgs: unknown[]): unknown {
      if (once) records.gone(timer);
      try {
        return Reflect.apply(callback, this, callbackArgs);
      } finally {
        if (script) owner.changed();
      }
    }
    const timer = Reflect.apply(target, thisArg, [fired, ...args.slice(1)]) as Timer;
    records.created(timer, script, immediate);
    return timer;
  };
}

const clearTrap: ApplyTrap = (target, thisArg, args) => {
  const timer = args[0];
  if (active !== undefined && timer !== undefined && timer !== null) {
    if (typeof timer === 'object') active.records.gone(timer);
    else active.records.goneById(timer);
  }
  return Reflect.apply(target, thisArg, args);
};
