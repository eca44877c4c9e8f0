// This file implements `state.globals = "reset"` for JavaScript's and Node's built-in objects
// from the perspective of the node runtime putting them back after every request: a member a
// script replaced (`Math.random`, `JSON.parse`, `crypto.randomBytes`), added
// (`Object.prototype.isAdmin`) or deleted is put back; what cannot be put back (a frozen
// prototype, a non-configurable property) is reported so the worker can be replaced. Most
// scripts change nothing, so finding that out must cost little: generated code compares each
// value by a constant-name load (inline caches), and counts enumerable keys.
import { syncBuiltinESMExports } from 'node:module';
import { compileObjectChecks, sameDescriptor, type ObjectCheck, type ObjectShape } from './object-checks.ts';
import { watchMutations } from './mutation-barrier.ts';
import type { WatchedObject } from './builtin-objects.ts';

// As loaded with this module: a script replacing `Object` or `Reflect` cannot fool the restore.
const { is, hasOwn, isExtensible, getPrototypeOf, keys: enumerableKeys } = Object;
const { ownKeys, getOwnPropertyDescriptor, defineProperty, deleteProperty, setPrototypeOf, apply } = Reflect;

/** One watched object as captured. */
interface Captured extends ObjectShape {
  readonly name: string;
  readonly unwatched: ReadonlySet<PropertyKey> | undefined;
  readonly descriptors: ReadonlyMap<PropertyKey, PropertyDescriptor>;
  readonly prototype: object | null;
  readonly extensible: boolean;
}

/**
 * A setting kept behind an accessor pair (`EventEmitter.defaultMaxListeners`,
 * `http.globalAgent`, `require('module').wrapper`): its descriptor never changes, its value does.
 */
interface Setting {
  readonly object: object;
  readonly key: PropertyKey;
  readonly name: string;
  readonly get: () => unknown;
  readonly set: (value: unknown) => void;
  readonly value: unknown;
  /** Its setter was called since the last restore (the setter is wrapped to say so). */
  called: boolean;
  /** Not configurable, so its setter cannot be wrapped: compared after every run. */
  readonly always: boolean;
}

/** Options of a {@link BuiltinsBaseline}. */
export interface BuiltinsBaselineOptions {
  /** Objects whose well-known symbol keys are compared too (the main prototypes). */
  readonly symbolWatched?: readonly object[];
  /** The well-known symbols to compare on them. */
  readonly symbols?: readonly symbol[];
  /** Accessors the runtime owns (`process.env`, `process.exitCode`): not reset as settings. */
  readonly own?: ReadonlyMap<object, ReadonlySet<PropertyKey>>;
  /**
   * Members neither compared nor put back: state that legitimately changes (`process._events`,
   * the listeners, which state-policy.ts resets).
   */
  readonly unwatched?: ReadonlyMap<object, ReadonlySet<PropertyKey>>;
  /**
   * Data members compared by presence only, as accessors are: values that move by themselves
   * and that an assignment cannot change (`process.ppid`, a native accessor without a setter
   * that V8 shows as a writable data property: reading it is a `getppid(2)` per request). A
   * reflective change, a deletion or an added member is still seen and put back.
   */
  readonly presence?: ReadonlyMap<object, ReadonlySet<PropertyKey>>;
}

/**
 * The built-in objects as they were when captured (once per runtime, before any script ran).
 * After each run, {@link BuiltinsBaseline.restore} compares them cheaply and puts back what
 * changed. Not seen: changes inside objects the built-ins hold but are not watched themselves
 * (the sockets of `http.globalAgent`, a lazily loaded web class's prototype).
 */
export class BuiltinsBaseline {
  readonly #objects: Captured[] = [];
  readonly #index = new Map<object, number>();
  /** The checks of each tier, each over a range of {@link BuiltinsBaseline.#objects}. */
  readonly #checks: { readonly always: ObjectCheck[]; readonly modules: ObjectCheck[] } = { always: [], modules: [] };
  readonly #settings: Setting[] = [];
  readonly #touched = new Set<number>();
  readonly #options: BuiltinsBaselineOptions;
  readonly #symbolWatched: ReadonlySet<object>;
  readonly #onTouched = (target: object | undefined): void => {
    const i = target === undefined ? undefined : this.#index.get(target);
    if (i === undefined) this.#touchedUnknown = true;
    else this.#touched.add(i);
  };
  #touchedUnknown = false;

  constructor(watched: readonly WatchedObject[], options: BuiltinsBaselineOptions = {}) {
    this.#options = options;
    this.#symbolWatched = new Set(options.symbolWatched ?? []);
    this.add(watched);
  }

  /**
   * Captures more objects (a built-in module loaded for the first time) and compares them from
   * the next restore on. Objects already watched are skipped.
   */
  add(watched: readonly WatchedObject[]): void {
    const fresh = watched.filter((w) => !this.#index.has(w.object));
    // Before the capture: the wrapped setters are part of the baseline.
    for (const { object, name } of fresh) this.#wrapSettings(object, name, this.#options.own?.get(object));
    for (const tier of ['always', 'modules'] as const) {
      const batch = fresh.filter((w) => w.tier === tier);
      const from = this.#objects.length;
      for (const { object, name } of batch) {
        this.#index.set(object, this.#objects.length);
        const symbols = this.#symbolWatched.has(object) ? (this.#options.symbols ?? []) : [];
        const { unwatched, presence } = this.#options;
        this.#objects.push(capture(object, name, symbols, unwatched?.get(object), presence?.get(object)));
      }
      for (const check of compileObjectChecks(this.#objects.slice(from))) {
        this.#checks[tier].push({ ...check, from: check.from + from, to: check.to + from });
      }
    }
    watchMutations(fresh.map((w) => w.object), this.#onTouched);
  }

  /** Number of objects watched. */
  get size(): number {
    return this.#objects.length;
  }

  /**
   * Puts back every watched object that changed since the capture.
   * @param modules - also compare the `modules` tier (the run may have loaded a module); objects
   *   a reflective mutator touched are compared whatever their tier
   * @returns what could not be put back (`Object.prototype: made non-extensible`); empty when
   *   everything is as captured
   */
  restore(modules = true): string[] {
    return this.#restore(true, modules);
  }

  /**
   * Puts back only what a reflective mutator touched and the settings whose setter was called:
   * everything that may not be put back (a frozen object, a non-configurable property) is among
   * them, so the worker knows at once whether it must be replaced; the comparison of every
   * value ({@link BuiltinsBaseline.restore}) finds only what can be.
   */
  restoreTouched(): string[] {
    return this.#restore(false, false);
  }

  #restore(compareAll: boolean, modules: boolean): string[] {
    const problems: string[] = [];
    const redo = new Set<number>(this.#touchedUnknown ? this.#objects.keys() : this.#touched);
    this.#touched.clear();
    this.#touchedUnknown = false;
    if (compareAll) compare(this.#checks.always, redo);
    if (compareAll && modules) compare(this.#checks.modules, redo);
    for (const i of redo) {
      const captured = this.#objects[i];
      if (captured !== undefined) restoreObject(captured, problems);
    }
    // A script may have synced its patches into ES modules' named imports of built-ins.
    if (redo.size > 0) syncBuiltinESMExports();
    for (const setting of this.#settings) {
      if (!setting.called && !setting.always) continue;
      setting.called = false;
      if (!is(apply(setting.get, setting.object, []), setting.value)) {
        apply(setting.set, setting.object, [setting.value]);
        if (!is(apply(setting.get, setting.object, []), setting.value)) problems.push(`${setting.name}: cannot be put back`);
      }
    }
    return problems;
  }

  /**
   * The accessor pairs of exports, classes and `process` (not prototypes: their getters need an
   * instance): their setter is wrapped, so that a script's assignment is known without calling
   * every getter after every request.
   */
  #wrapSettings(object: object, objectName: string, own: ReadonlySet<PropertyKey> | undefined): void {
    if (objectName.endsWith('.prototype') || objectName.startsWith('%')) return;
    for (const key of ownKeys(object)) {
      const descriptor = getOwnPropertyDescriptor(object, key);
      const { get, set } = (descriptor ?? {}) as { get?: () => unknown; set?: (value: unknown) => void };
      // Underscore-named ones are Node's private state, not settings a script is meant to change.
      if (descriptor === undefined || get === undefined || set === undefined) continue;
      if (own?.has(key) === true || String(key).startsWith('_')) continue;
      let value: unknown;
      try {
        value = apply(get, object, []);
        // Not a setting: a getter answering a fresh object each time, or a moving value (the
        // legacy `RegExp.$1`… statics, which the runtime resets by a match of its own).
        if (!is(apply(get, object, []), value) || object === RegExp) continue;
      } catch {
        continue;
      }
      const always = descriptor.configurable !== true;
      const setting: Setting = { object, key, name: `${objectName}.${String(key)}`, get, set, value, called: false, always };
      this.#settings.push(setting);
      if (always) continue;
      const flagged = new Proxy(set, {
        apply: (target, thisArg, args: unknown[]): unknown => {
          setting.called = true;
          return apply(target, thisArg, args);
        },
      });
      defineProperty(object, key, { ...descriptor, set: flagged });
    }
  }
}

/** Runs `checks`; adds the objects of each that found a change to `redo`. */
function compare(checks: readonly ObjectCheck[], redo: Set<number>): void {
  for (const { from, to, unchanged } of checks) {
    let same: boolean;
    try {
      same = unchanged();
    } catch {
      same = false; // a data property turned into a throwing getter
    }
    if (!same) for (let i = from; i < to; i++) redo.add(i);
  }
}

function capture(
  object: object, name: string, symbols: readonly symbol[],
  unwatched: ReadonlySet<PropertyKey> | undefined, presence: ReadonlySet<PropertyKey> | undefined,
): Captured {
  const descriptors = new Map<PropertyKey, PropertyDescriptor>();
  const values: [PropertyKey, unknown][] = [];
  const accessors: PropertyKey[] = [];
  for (const key of ownKeys(object)) {
    const descriptor = getOwnPropertyDescriptor(object, key);
    if (descriptor === undefined || unwatched?.has(key) === true) continue;
    descriptors.set(key, descriptor);
    // Only an assignment escapes the barrier: a read-only property can change only reflectively.
    if ('value' in descriptor && presence?.has(key) !== true) {
      if (descriptor.writable === true) values.push([key, descriptor.value]);
    } else if (descriptor.configurable === true) {
      accessors.push(key);
    }
  }
  const symbolValues = symbols.map((symbol): [symbol, unknown] => [symbol, (object as Record<symbol, unknown>)[symbol]]);
  return {
    object,
    name,
    unwatched,
    descriptors,
    values,
    accessors,
    symbolValues,
    // A key added by plain assignment is enumerable: counting them finds it (defined ones, the barrier).
    enumerable: enumerableKeys(object).length,
    prototype: getPrototypeOf(object) as object | null,
    extensible: isExtensible(object),
  };
}

/** Puts one object back as captured; what cannot be is added to `problems`. */
function restoreObject(captured: Captured, problems: string[]): void {
  const { object, name, descriptors } = captured;
  if (getPrototypeOf(object) !== captured.prototype && !setPrototypeOf(object, captured.prototype)) {
    problems.push(`${name}: prototype replaced, cannot be put back`);
  }
  let kept = 0;
  for (const key of ownKeys(object)) {
    if (captured.unwatched?.has(key) === true) continue;
    const before = descriptors.get(key);
    if (before === undefined) {
      if (!deleteProperty(object, key)) problems.push(`${name}.${String(key)}: added, not configurable`);
      continue;
    }
    kept++;
    if (!sameDescriptor(before, getOwnPropertyDescriptor(object, key)) && !defineProperty(object, key, before)) {
      problems.push(`${name}.${String(key)}: changed, not configurable`);
    }
  }
  if (kept !== descriptors.size) {
    for (const [key, before] of descriptors) {
      if (!hasOwn(object, key) && !defineProperty(object, key, before)) problems.push(`${name}.${String(key)}: deleted, cannot be put back`);
    }
  }
  if (captured.extensible && !isExtensible(object)) problems.push(`${name}: made non-extensible (frozen or sealed)`);
}
