// This file implements the cheap "is every watched built-in object as captured?" question from
// the perspective of the node runtime asking it after every request: generated functions that
// read each captured data property by a constant name (V8 answers those from inline caches, about
// 2 ns each), test each accessor is still there and count each object's enumerable keys (what an
// assignment adds). Generated code, on purpose and safely: names are the built-ins' own property
// names at capture (before any script ran), written as JSON string literals; symbols and values
// are passed in, never written.

/** What is compared of one object. */
export interface ObjectShape {
  readonly object: object;
  /** Data properties and their values. */
  readonly values: readonly (readonly [PropertyKey, unknown])[];
  /** Accessor properties (compared by presence: only a reflective change, which the barrier sees, can replace one). */
  readonly accessors: readonly PropertyKey[];
  /** Well-known symbols and the values read through them (inherited ones too). */
  readonly symbolValues: readonly (readonly [symbol, unknown])[];
  /** Number of enumerable own string keys, or undefined when they are not counted. */
  readonly enumerable: number | undefined;
}

/** One generated function: true when objects `from` to `to` (exclusive) are unchanged. */
export interface ObjectCheck {
  readonly from: number;
  readonly to: number;
  readonly unchanged: () => boolean;
}

/** Terms per generated function: V8 stops optimizing very large functions. */
const TERMS_PER_CHECK = 300;

const { is, hasOwn, keys: enumerableKeys } = Object;
const { get: getProperty } = Reflect;

/**
 * Compiles the checks of `shapes`, a few objects per function. Where code generation is
 * disallowed (`node --disallow-code-generation-from-strings`), loops do the same reads.
 */
export function compileObjectChecks(shapes: readonly ObjectShape[]): ObjectCheck[] {
  const checks: ObjectCheck[] = [];
  let from = 0;
  while (from < shapes.length) {
    let to = from;
    let terms = 0;
    while (to < shapes.length && (to === from || terms + termsOf(shapes[to]) <= TERMS_PER_CHECK)) {
      terms += termsOf(shapes[to]);
      to++;
    }
    const chunk = shapes.slice(from, to);
    checks.push({ from, to, unchanged: compileChunk(chunk) ?? (() => chunk.every(unchangedByLoop)) });
    from = to;
  }
  return checks;
}

function termsOf(shape: ObjectShape | undefined): number {
  return shape === undefined ? 0 : shape.values.length + shape.accessors.length + shape.symbolValues.length + 1;
}

/** `===` is enough unless the value is NaN or -0. */
function needsIs(value: unknown): boolean {
  return value !== value || (value === 0 && 1 / value < 0);
}

function compileChunk(shapes: readonly ObjectShape[]): (() => boolean) | undefined {
  const values: unknown[] = [];
  const keys: PropertyKey[] = [];
  const terms: string[] = [];
  const keyRef = (key: PropertyKey): string => {
    if (typeof key === 'string') return JSON.stringify(key);
    keys.push(key);
    return `k[${keys.length - 1}]`;
  };
  const valueTerm = (object: string, key: PropertyKey, value: unknown): string => {
    values.push(value);
    const read = `${object}[${keyRef(key)}]`;
    const captured = `v${values.length - 1}`;
    return needsIs(value) ? `is(${read}, ${captured})` : `${read} === ${captured}`;
  };
  shapes.forEach((shape, i) => {
    const object = `o${i}`;
    for (const [key, value] of shape.values) terms.push(valueTerm(object, key, value));
    for (const [symbol, value] of shape.symbolValues) terms.push(valueTerm(object, symbol, value));
    for (const key of shape.accessors) terms.push(`hasOwn(${object}, ${keyRef(key)})`);
    if (shape.enumerable !== undefined) terms.push(`count(${object}).length === ${String(shape.enumerable)}`);
  });
  // Each object and value a constant of the closure: TurboFan folds their loads.
  const constants = [
    ...shapes.map((_, i) => `o${i} = objects[${i}]`),
    ...values.map((_, i) => `v${i} = captured[${i}]`),
  ];
  const body = `const ${constants.join(', ')};\nreturn () => ${terms.join(' &&\n  ')};`;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see the file header: constant-name loads are the point
    const factory = new Function('objects', 'captured', 'k', 'is', 'hasOwn', 'count', body) as (
      ...args: unknown[]
    ) => () => boolean;
    return factory(shapes.map((s) => s.object), values, keys, is, hasOwn, enumerableKeys);
  } catch {
    return undefined;
  }
}

function unchangedByLoop(shape: ObjectShape): boolean {
  const { object } = shape;
  return (
    shape.values.every(([key, value]) => is(getProperty(object, key), value)) &&
    shape.symbolValues.every(([symbol, value]) => is(getProperty(object, symbol), value)) &&
    shape.accessors.every((key) => hasOwn(object, key)) &&
    (shape.enumerable === undefined || enumerableKeys(object).length === shape.enumerable)
  );
}

/** True when `b` is the same property as `a`: value (`Object.is`), accessors and attributes. */
export function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor | undefined): boolean {
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
