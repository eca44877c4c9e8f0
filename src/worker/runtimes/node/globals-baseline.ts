// This file implements `state.globals = "reset"` from the perspective of the node runtime putting
// the global object back after every request: properties a script added to `globalThis` are
// deleted, those it replaced or deleted are put back — and, since most scripts change nothing,
// finding that nothing changed must cost little (it runs once per request).
/** The own property keys of `globalThis`, in V8's order. */
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
const { is, hasOwn } = Object;
const { ownKeys, getOwnPropertyDescriptor, defineProperty, deleteProperty, get: getProperty } = Reflect;

/**
 * The own properties of `globalThis` as they were when captured. Taken once per runtime: after
 * every run under `state.globals = "reset"` the global object is brought back to it, so it
 * stays the baseline for the next run.
 *
 * The check for "nothing changed" compares the keys in order, the values of data properties,
 * and the getters and setters of accessors (Node's lazily loaded globals). Not detected, and so
 * not undone: a data property whose `writable`/`enumerable`/`configurable` attributes alone
 * changed. A data global a script turned into a getter has that getter called by the check
 * (outside the script's request; a throw counts as a change).
 * @see PoolConfig.state.globals
 */
export class GlobalsBaseline {
  readonly #descriptors = new Map<string | symbol, PropertyDescriptor>();
  /** The keys the fast check expects: the captured ones, in the order the last restore left. */
  #keys: Keys;
  readonly #values: unknown[] = [];
  readonly #symbols: (symbol | undefined)[] = [];
  readonly #accessors: [string | symbol, PropertyDescriptor][] = [];
  readonly #valuesUnchanged: ValueCheck;

  constructor() {
    this.#keys = ownKeys(globalThis);
    const dataKeys: (string | symbol)[] = [];
    for (const key of this.#keys) {
      const descriptor = getOwnPropertyDescriptor(globalThis, key);
      if (descriptor === undefined) continue;
      this.#descriptors.set(key, descriptor);
      if ('value' in descriptor) {
        dataKeys.push(key);
        this.#values.push(descriptor.value);
        this.#symbols.push(typeof key === 'symbol' ? key : undefined);
      } else {
        this.#accessors.push([key, descriptor]);
      }
    }
    this.#valuesUnchanged = compileValueCheck(dataKeys);
  }

  /**
   * Deletes the properties added since the capture, puts back those changed or deleted.
   * Non-configurable ones a script defined cannot be undone and are left as they are.
   */
  restore(): void {
    if (this.#unchanged()) return;
    let kept = 0;
    for (const key of ownKeys(globalThis)) {
      const before = this.#descriptors.get(key);
      if (before === undefined) {
        deleteProperty(globalThis, key);
        continue;
      }
      kept++;
      if (!sameDescriptor(before, getOwnPropertyDescriptor(globalThis, key))) {
        defineProperty(globalThis, key, before);
      }
    }
    if (kept !== this.#descriptors.size) {
      for (const [key, descriptor] of this.#descriptors) {
        if (!hasOwn(globalThis, key)) defineProperty(globalThis, key, descriptor);
      }
    }
    // A property put back comes last in V8's order now: the next fast check expects that.
    this.#keys = ownKeys(globalThis);
  }

  #unchanged(): boolean {
    const keys = ownKeys(globalThis);
    const expected = this.#keys;
    if (keys.length !== expected.length) return false;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== expected[i]) return false;
    try {
      if (!this.#valuesUnchanged(globalThis, this.#values, this.#symbols, is)) return false;
    } catch {
      return false;
    }
    for (const [key, before] of this.#accessors) {
      if (!sameDescriptor(before, getOwnPropertyDescriptor(globalThis, key))) return false;
    }
    return true;
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

function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor | undefined): boolean {
  return (
    b !== undefined &&
    is(a.value, b.value) &&
    a.get === b.get &&
    a.set === b.set &&
    a.writable === b.writable &&
    a.enumerable === b.enumerable &&
    a.configurable === b.configurable
  );
}
