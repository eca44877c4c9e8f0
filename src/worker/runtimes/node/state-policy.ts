// This file implements what survives a request from the perspective of the node runtime's
// state policies (`state.modules`, `state.globals`): modules first required during a request
// are dropped from `require.cache` (reset) or kept warm (keep), properties a script added to or
// changed on `globalThis` are undone (reset) or persist (keep), and listeners a script added to
// `process` are always removed, as its process would have ended.
import { createRequire } from 'node:module';

/** The worker's CommonJS module cache, the one `require` in scripts uses. */
const moduleCache: NodeJS.Dict<NodeJS.Module> = createRequire(import.meta.url).cache;

/**
 * Takes note of the loaded modules; the returned function deletes from `require.cache` every
 * module loaded since, so the next `require` evaluates it afresh. Native addons (`.node`) stay:
 * a shared object cannot be loaded twice into one process.
 * @see PoolConfig.state.modules
 */
export function noteLoadedModules(): () => void {
  const before = new Set(Object.keys(moduleCache));
  return () => {
    for (const id of Object.keys(moduleCache)) {
      if (!before.has(id) && !id.endsWith('.node')) Reflect.deleteProperty(moduleCache, id);
    }
  };
}

/**
 * The own properties of `globalThis` as they were when captured. Taken once per runtime: after
 * every run under `state.globals = "reset"` the global object is brought back to it, so it
 * stays the baseline for the next run.
 * @see PoolConfig.state.globals
 */
export class GlobalsBaseline {
  readonly #descriptors = new Map<string | symbol, PropertyDescriptor>();

  constructor() {
    for (const key of Reflect.ownKeys(globalThis)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(globalThis, key);
      if (descriptor !== undefined) this.#descriptors.set(key, descriptor);
    }
  }

  /**
   * Deletes the properties added since the capture, puts back those changed or deleted.
   * Non-configurable ones a script defined cannot be undone and are left as they are.
   */
  restore(): void {
    let unchanged = 0;
    for (const key of Reflect.ownKeys(globalThis)) {
      const before = this.#descriptors.get(key);
      if (before === undefined) {
        Reflect.deleteProperty(globalThis, key);
        continue;
      }
      unchanged++;
      if (!sameDescriptor(before, Reflect.getOwnPropertyDescriptor(globalThis, key))) {
        Reflect.defineProperty(globalThis, key, before);
      }
    }
    if (unchanged === this.#descriptors.size) return;
    for (const [key, descriptor] of this.#descriptors) {
      if (!Object.hasOwn(globalThis, key)) Reflect.defineProperty(globalThis, key, descriptor);
    }
  }
}

function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor | undefined): boolean {
  return (
    b !== undefined &&
    Object.is(a.value, b.value) &&
    a.get === b.get &&
    a.set === b.set &&
    a.writable === b.writable &&
    a.enumerable === b.enumerable &&
    a.configurable === b.configurable
  );
}

type Listener = (...args: unknown[]) => void;

/**
 * The listeners on `process` before a run. A script's `process.on('exit' | 'uncaughtException'
 * | 'SIGTERM' …)` handlers belong to its process, which ends with the request: they are found
 * with {@link ProcessListeners.added} and removed by {@link ProcessListeners.restore}.
 */
export class ProcessListeners {
  readonly #before = new Map<string | symbol, readonly unknown[]>();

  constructor() {
    for (const event of process.eventNames()) this.#before.set(event, process.rawListeners(event));
  }

  /** Listeners added to `event` since the snapshot, in order (`once` wrappers included). */
  added(event: string | symbol): Listener[] {
    const before = this.#before.get(event) ?? [];
    return (process.rawListeners(event) as Listener[]).filter((listener) => !before.includes(listener));
  }

  /** Removes every listener added since the snapshot. */
  restore(): void {
    for (const event of process.eventNames()) {
      const now = process.rawListeners(event);
      const before = this.#before.get(event) ?? [];
      // Nothing added (the common case): the same listeners in the same order.
      if (now.length === before.length && now.every((listener, i) => listener === before[i])) continue;
      for (const listener of this.added(event)) process.removeListener(event, listener);
    }
  }
}
