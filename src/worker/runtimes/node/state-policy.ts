// This file implements what survives a request from the perspective of the node runtime's
// state policies: modules first required during a request are dropped from `require.cache`
// (`state.modules = "reset"`) or kept warm (keep), and listeners a script added to `process`
// are always removed, as its process would have ended. (`state.globals`: globals-baseline.ts.)
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
