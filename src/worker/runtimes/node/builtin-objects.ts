// This file implements the list of interpreter-wide objects the node runtime resets after each
// request under `state.globals = "reset"`, from the perspective of a script that can reach them
// all without being given them: JavaScript's built-in constructors, their prototypes and the
// namespaces (`JSON`, `Math`, `Reflect`…), the intrinsics reachable only through values
// (iterator and generator prototypes, `%TypedArray%`), the `process` object, and Node's built-in
// modules: their exports, the classes they export and those classes' prototypes.
import { builtinModules, createRequire } from 'node:module';

/** An object the runtime watches, and the name the log gives it. */
export interface WatchedObject {
  readonly object: object;
  readonly name: string;
}

/**
 * Built-in modules not loaded and not watched: experimental or deprecated ones whose loading
 * warns or changes behaviour (`domain`, `punycode`, `sys`, `wasi`, `test`, `sqlite`,
 * `trace_events`, `inspector`, `repl`), the underscore-named internals, `http2` (2 MB of a
 * worker's memory for a module CGI scripts do not use), and `console`, whose export is the
 * worker's own console (scripts get an emulated one). A script that patches one of them is not
 * seen (docs/ISOLATION-node.md).
 */
const UNWATCHED_MODULES: ReadonlySet<string> = new Set([
  'console', 'domain', 'http2', 'inspector', 'inspector/promises', 'punycode', 'repl', 'sqlite', 'sys', 'test',
  'test/reporters', 'trace_events', 'wasi',
]);

/** The built-in modules whose exports are watched (loaded once per worker to be captured). */
export function watchedModules(): string[] {
  return builtinModules.filter((name) => !name.startsWith('_') && !UNWATCHED_MODULES.has(name));
}

/** Keys of `globalThis` that are not built-ins: the global object itself, and `console` (emulated). */
const NOT_BUILTIN: ReadonlySet<PropertyKey> = new Set(['globalThis', 'global', 'console']);

/** The own keys every function has. */
const PLAIN_FUNCTION_KEYS: ReadonlySet<PropertyKey> = new Set(['length', 'name', 'prototype', 'arguments', 'caller']);

/** Intrinsics no global names: reached through values. */
function hiddenIntrinsics(): [string, unknown][] {
  /* eslint-disable @typescript-eslint/no-empty-function -- the functions are probes for their prototypes */
  const generator = Object.getPrototypeOf(function* probe() {}) as { prototype: unknown };
  const asyncGenerator = Object.getPrototypeOf(async function* probe() {}) as { prototype: unknown };
  const asyncFunction: unknown = Object.getPrototypeOf(async function probe() {});
  /* eslint-enable @typescript-eslint/no-empty-function */
  const arrayIterator: unknown = Object.getPrototypeOf([][Symbol.iterator]());
  return [
    ['%TypedArray%', Object.getPrototypeOf(Int8Array)],
    ['%TypedArray%.prototype', Object.getPrototypeOf(Int8Array.prototype)],
    ['%ArrayIteratorPrototype%', arrayIterator],
    ['%IteratorPrototype%', Object.getPrototypeOf(arrayIterator)],
    ['%MapIteratorPrototype%', Object.getPrototypeOf(new Map()[Symbol.iterator]())],
    ['%SetIteratorPrototype%', Object.getPrototypeOf(new Set()[Symbol.iterator]())],
    ['%StringIteratorPrototype%', Object.getPrototypeOf(''[Symbol.iterator]())],
    ['%RegExpStringIteratorPrototype%', Object.getPrototypeOf(/x/[Symbol.matchAll](''))],
    ['%GeneratorFunction%', generator],
    ['%GeneratorPrototype%', generator.prototype],
    ['%AsyncGeneratorFunction%', asyncGenerator],
    ['%AsyncGeneratorPrototype%', asyncGenerator.prototype],
    ['%AsyncIteratorPrototype%', Object.getPrototypeOf(asyncGenerator.prototype)],
    ['%AsyncFunction%', asyncFunction],
  ];
}

/** Prototypes of namespaces and plain functions: anything else makes a value an instance. */
const PLAIN_PROTOTYPES: ReadonlySet<unknown> = new Set([Object.prototype, Function.prototype, null]);

/**
 * True for an object made by a class (an Agent, an EventEmitter such as `require('cluster')`,
 * an array): its own members are its working state. Functions count as API, whatever their prototype.
 */
function isInstance(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !PLAIN_PROTOTYPES.has(Object.getPrototypeOf(value));
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** The data properties of `object` (never calls a getter: lazy ones stay unloaded). */
function dataValues(object: object): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const key of Reflect.ownKeys(object)) {
    const descriptor = Reflect.getOwnPropertyDescriptor(object, key);
    if (descriptor !== undefined && 'value' in descriptor) out.push([String(key), descriptor.value]);
  }
  return out;
}

/**
 * Collects the watched objects. Loads the watched built-in modules (about 4 MB and 30 ms once
 * per worker, most of it `https`, `tls` and `stream/web`), so that each is captured before any
 * script can change it.
 */
export function collectWatchedObjects(): WatchedObject[] {
  const seen = new Map<object, string>();
  const add = (value: unknown, name: string): void => {
    if (isObject(value) && !seen.has(value)) seen.set(value, name);
  };
  /**
   * A value and, for a class, its prototype. A function with no members of its own (no statics)
   * and a frozen object have nothing a script could change.
   */
  const addWithPrototype = (value: unknown, name: string): void => {
    if (!isObject(value) || Object.isFrozen(value)) return;
    if (typeof value !== 'function' || Reflect.ownKeys(value).some((key) => !PLAIN_FUNCTION_KEYS.has(key))) add(value, name);
    if (typeof value !== 'function') return;
    const prototype = Reflect.getOwnPropertyDescriptor(value, 'prototype')?.value as unknown;
    if (isObject(prototype) && Reflect.ownKeys(prototype).length > 1) add(prototype, `${name}.prototype`);
  };
  for (const [key, value] of dataValues(globalThis)) if (!NOT_BUILTIN.has(key)) addWithPrototype(value, key);
  addWithPrototype(Buffer, 'Buffer');
  for (const [name, value] of hiddenIntrinsics()) add(value, name);
  // `process` itself only: its members are the running process's state (its IPC channel, its
  // module load list, its streams).
  add(process, 'process');
  const load = createRequire(import.meta.url);
  // Deprecated, yet `require.extensions['.txt'] = …` still teaches every later `require` a new loader.
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- watched, not used
  add(load.extensions, 'require.extensions');
  for (const id of watchedModules()) {
    const exports = load(id) as unknown;
    if (!isObject(exports) || exports === process || isInstance(exports)) continue;
    addWithPrototype(exports, `require('${id}')`);
    for (const [key, value] of dataValues(exports)) {
      // Classes, functions and namespaces; not instances (`http.globalAgent`, an Agent whose
      // socket counts change as it works), whose members are state, not API.
      if (!isInstance(value)) addWithPrototype(value, `require('${id}').${key}`);
    }
  }
  const { inspect } = load('util') as { inspect: { defaultOptions: unknown } };
  add(inspect.defaultOptions, "require('util').inspect.defaultOptions");
  return [...seen].map(([object, name]) => ({ object, name }));
}

/**
 * The prototypes whose well-known symbol keys are checked too (`Object.prototype[Symbol.iterator]
 * = …` makes every object iterable): symbol keys added by assignment do not show in the count of
 * enumerable keys, and counting symbols on every watched object would cost more than the rest.
 */
export function symbolWatchedPrototypes(): object[] {
  return [
    Object.prototype, Function.prototype, Array.prototype, String.prototype, Number.prototype,
    Boolean.prototype, Symbol.prototype, BigInt.prototype, Promise.prototype, Error.prototype,
    RegExp.prototype, Date.prototype, Map.prototype, Set.prototype,
    Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object,
  ];
}

/** The well-known symbols (`Symbol.iterator`, `Symbol.toPrimitive`…). */
export function wellKnownSymbols(): symbol[] {
  return Object.getOwnPropertyNames(Symbol)
    .map((name) => (Symbol as unknown as Record<string, unknown>)[name])
    .filter((value): value is symbol => typeof value === 'symbol');
}
