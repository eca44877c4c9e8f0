// This file implements `state.globals = "reset"` from the perspective of the node runtime putting
// the global object back after every request: properties a script added to `globalThis` are
// deleted, those it replaced or deleted are put back — and, since most scripts change nothing,
// finding that nothing changed must cost little (it runs once per request).
import { GuardedAccessors } from './guarded-accessors.ts';
import { watchMutations } from './mutation-barrier.ts';
import { sameDescriptor } from './object-checks.ts';

/** Own property keys of an object. */
type Keys = readonly (string | symbol)[];

/**
 * Answers whether every data property still holds its captured value, by one constant-name load
 * per property (`g["Array"]`), which V8 answers from inline caches: ~0.5 µs for the ~80 data
 * globals of a worker, against ~10 µs for the same reads by computed key in a loop and ~25 µs
 * for reading their descriptors.
 */
export type ValueCheck = (
  global: object,
  values: readonly unknown[],
  symbols: readonly (symbol | undefined)[],
  is: (a: unknown, b: unknown) => boolean,
) => boolean;

// As loaded with this module: a script replacing `Object` or `Reflect` cannot fool the restore.
const { is, hasOwn, keys: enumerableKeys, getOwnPropertySymbols, isExtensible } = Object;
const { ownKeys, getOwnPropertyDescriptor, defineProperty, deleteProperty, get: getProperty } = Reflect;

/** Options of a {@link GlobalsBaseline}. */
export interface GlobalsBaselineOptions {
  /** Accessors that are the runtime's own (the emulated `console`): not guarded. */
  readonly ownAccessors?: ReadonlySet<PropertyKey>;
}

/**
 * The own properties of `globalThis` as they were when captured. Taken once per runtime: after
 * every run under `state.globals = "reset"` the global object is brought back to it, so it
 * stays the baseline for the next run.
 *
 * Node's accessor globals are guarded first (guarded-accessors.ts), so that a value a script
 * assigns through one (`performance = …`, `Blob = …`) is seen and dropped. The check for
 * "nothing changed" then compares the number of enumerable string and of symbol keys (what an
 * assignment adds), the presence of every accessor, the values of data properties, and whether
 * a reflective mutator touched the global object (mutation-barrier.ts): no `ownKeys` of the
 * global object, whose dictionary costs about 2 µs to list and sort. Not detected, and so not
 * undone: a symbol key added together with one deleted in the same run; global lexical
 * declarations (`let`, `const`, `class` at the top level of code run by indirect `eval` or
 * `vm.runInThisContext`), which are no properties. A data global a script turned into a getter
 * has that getter called by the check (outside the script's request; a throw counts as a change).
 * @see PoolConfig.state.globals
 */
export class GlobalsBaseline {
  readonly #descriptors = new Map<string | symbol, PropertyDescriptor>();
  readonly #accessors: GuardedAccessors;
  readonly #accessorKeys: (string | symbol)[] = [];
  readonly #values: unknown[] = [];
  readonly #symbols: (symbol | undefined)[] = [];
  readonly #valuesUnchanged: ValueCheck;
  #enumerable = 0;
  #symbolKeys = 0;
  #touched = false;

  constructor(options: GlobalsBaselineOptions = {}) {
    this.#accessors = new GuardedAccessors(globalThis, options.ownAccessors ?? new Set());
    const dataKeys: (string | symbol)[] = [];
    for (const key of ownKeys(globalThis)) {
      const descriptor = getOwnPropertyDescriptor(globalThis, key);
      if (descriptor === undefined) continue;
      this.#descriptors.set(key, descriptor);
      if ('value' in descriptor) {
        dataKeys.push(key);
        this.#values.push(descriptor.value);
        this.#symbols.push(typeof key === 'symbol' ? key : undefined);
      } else {
        this.#accessorKeys.push(key);
      }
    }
    this.#valuesUnchanged = compileValueCheck(dataKeys);
    this.#count();
    watchMutations([globalThis], () => {
      this.#touched = true;
    });
  }

  /**
   * Deletes the properties added since the capture, puts back those changed or deleted, and
   * forgets values assigned through Node's accessors.
   * @returns what could not be undone (a non-configurable property a script defined or
   *   changed, a global object made non-extensible); empty when all is as captured
   */
  restore(): string[] {
    if (this.#unchanged()) return [];
    return this.#putBack();
  }

  /**
   * Puts the global object back only if a reflective mutator touched it or a script assigned
   * through a guarded accessor (what may not be put back is among those); else leaves the
   * comparison of every value to {@link GlobalsBaseline.restore}.
   */
  restoreTouched(): string[] {
    return this.#touched || this.#accessors.assigned ? this.#putBack() : [];
  }

  #putBack(): string[] {
    const problems: string[] = [];
    this.#accessors.forget();
    let kept = 0;
    for (const key of ownKeys(globalThis)) {
      const before = this.#descriptors.get(key);
      if (before === undefined) {
        if (!deleteProperty(globalThis, key)) problems.push(`globalThis.${String(key)} added, not configurable`);
        continue;
      }
      kept++;
      if (!sameDescriptor(before, getOwnPropertyDescriptor(globalThis, key)) && !defineProperty(globalThis, key, before)) {
        problems.push(`globalThis.${String(key)} redefined, not configurable`);
      }
    }
    if (kept !== this.#descriptors.size) {
      for (const [key, descriptor] of this.#descriptors) {
        if (!hasOwn(globalThis, key) && !defineProperty(globalThis, key, descriptor)) {
          problems.push(`globalThis.${String(key)} deleted, cannot be put back`);
        }
      }
    }
    if (!isExtensible(globalThis)) problems.push('globalThis made non-extensible');
    this.#touched = false;
    this.#count();
    return problems;
  }

  #count(): void {
    this.#enumerable = enumerableKeys(globalThis).length;
    this.#symbolKeys = getOwnPropertySymbols(globalThis).length;
  }

  #unchanged(): boolean {
    if (this.#touched || this.#accessors.assigned) return false;
    if (enumerableKeys(globalThis).length !== this.#enumerable) return false;
    if (getOwnPropertySymbols(globalThis).length !== this.#symbolKeys) return false;
    for (const key of this.#accessorKeys) if (!hasOwn(globalThis, key)) return false;
    try {
      return this.#valuesUnchanged(globalThis, this.#values, this.#symbols, is);
    } catch {
      return false;
    }
  }
}

/**
 * Compiles the {@link ValueCheck} of `keys`. Generated code, on purpose and safely: the names
 * are the global object's own property names at capture (before any script ran), written as
 * JSON string literals; symbols are passed in, never written. Where code generation is
 * disallowed (`node --disallow-code-generation-from-strings`), a loop does the same reads.
 * @param keys - the data properties, in the order of the `values` the check will be given
 */
export function compileValueCheck(keys: Keys): ValueCheck {
  const terms = keys.map((key, i) =>
    typeof key === 'string' ? `is(g[${JSON.stringify(key)}], v[${i}])` : `is(g[s[${i}]], v[${i}])`,
  );
  const body = `return ${terms.length === 0 ? 'true' : terms.join(' && ')};`;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see above: constant-name loads are the point
    return new Function('g', 'v', 's', 'is', body) as ValueCheck;
  } catch {
    // `--disallow-code-generation-from-strings`: the same check by computed keys, slower.
    return (global, values) => keys.every((key, i) => is(getProperty(global, key), values[i]));
  }
}
