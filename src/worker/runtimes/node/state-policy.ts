// This file implements what survives a request from the perspective of the node runtime's
// state policies: modules first required during a request are dropped from `require.cache`
// (`state.modules = "reset"`) or kept warm (keep), and listeners a script added to `process`
// are always removed, as its process would have ended. (`state.globals`: globals-baseline.ts.)
/* eslint-disable @typescript-eslint/prefer-for-of -- indexed loops on purpose: `for…of` calls
   `Array.prototype[Symbol.iterator]`, which a script may have replaced */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

/** The worker's CommonJS module cache, the one `require` in scripts uses. */
const moduleCache: NodeJS.Dict<NodeJS.Module> = createRequire(import.meta.url).cache;

// As loaded with this module, before any script ran: a script that patched `Object.keys`,
// `Set`, `String.prototype.endsWith` or `process.removeListener` cannot keep its modules or its
// listeners alive through them (under `state.globals = "keep"` nothing puts those back).
const { keys } = Object;
const { apply, deleteProperty } = Reflect;
const OwnSet = Set;
const { has: setHas, add: setAdd } = Set.prototype as { has: (value: unknown) => boolean; add: (value: unknown) => unknown };
const { eventNames, rawListeners, removeListener } = EventEmitter.prototype as {
  eventNames: () => (string | symbol)[];
  rawListeners: (event: string | symbol) => unknown[];
  removeListener: (event: string | symbol, listener: unknown) => unknown;
};
const NATIVE_ADDON = '.node';

/** True when `id` ends with `.node`, by index (no `String.prototype` method). */
function isNativeAddon(id: string): boolean {
  if (id.length < NATIVE_ADDON.length) return false;
  for (let i = 0; i < NATIVE_ADDON.length; i++) {
    if (id[id.length - NATIVE_ADDON.length + i] !== NATIVE_ADDON[i]) return false;
  }
  return true;
}

/**
 * Takes note of the loaded modules; the returned function deletes from `require.cache` every
 * module loaded since, so the next `require` evaluates it afresh. Native addons (`.node`) stay:
 * a shared object cannot be loaded twice into one process.
 * @see PoolConfig.state.modules
 */
export function noteLoadedModules(): () => void {
  const before = keys(moduleCache);
  return () => {
    const now = keys(moduleCache);
    // The common case, nothing loaded: the same ids in the same order (new ones come last).
    if (now.length === before.length && sameIds(now, before)) return;
    const known = new OwnSet<string>();
    for (let i = 0; i < before.length; i++) apply(setAdd, known, [before[i]]);
    for (let i = 0; i < now.length; i++) {
      const id = now[i];
      if (id !== undefined && !apply(setHas, known, [id]) && !isNativeAddon(id)) deleteProperty(moduleCache, id);
    }
  };
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

type Listener = (...args: unknown[]) => void;

/** `list` without the entries of `except`, by index (no `Array.prototype` method). */
function without(list: readonly unknown[], except: readonly unknown[]): Listener[] {
  const out: Listener[] = [];
  for (let i = 0; i < list.length; i++) {
    let found = false;
    for (let j = 0; j < except.length && !found; j++) found = list[i] === except[j];
    if (!found) out[out.length] = list[i] as Listener;
  }
  return out;
}

/**
 * The listeners on `process` before a run. A script's `process.on('exit' | 'uncaughtException'
 * | 'SIGTERM' …)` handlers belong to its process, which ends with the request: they are found
 * with {@link ProcessListeners.added} and removed by {@link ProcessListeners.restore}.
 */
export class ProcessListeners {
  readonly #events: (string | symbol)[];
  readonly #listeners: (readonly unknown[])[] = [];

  constructor() {
    this.#events = apply(eventNames, process, []);
    for (let i = 0; i < this.#events.length; i++) {
      const event = this.#events[i];
      if (event !== undefined) this.#listeners[i] = apply(rawListeners, process, [event]);
    }
  }

  /** Listeners added to `event` since the snapshot, in order (`once` wrappers included). */
  added(event: string | symbol): Listener[] {
    let before: readonly unknown[] = [];
    for (let i = 0; i < this.#events.length; i++) if (this.#events[i] === event) before = this.#listeners[i] ?? [];
    return without(apply(rawListeners, process, [event]), before);
  }

  /** Removes every listener added since the snapshot. */
  restore(): void {
    const events = apply(eventNames, process, []);
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      if (event === undefined) continue;
      const added = this.added(event);
      for (let j = 0; j < added.length; j++) apply(removeListener, process, [event, added[j]]);
    }
  }
}
