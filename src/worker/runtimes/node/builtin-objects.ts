// This file implements the list of interpreter-wide objects the node runtime resets after each
// request under `state.globals = "reset"`, from the perspective of a script that can reach them
// all without being given them: JavaScript's built-in constructors, their prototypes and the
// namespaces (`JSON`, `Math`, `Reflect`…), the intrinsics reachable only through values
// (iterator and generator prototypes, `%TypedArray%`), the `process` object, and Node's built-in
// modules: their exports, the classes they export and those classes' prototypes.
import { Console } from 'node:console';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { Readable, Writable } from 'node:stream';

/**
 * An object the runtime watches, the name the log gives it, and whether a script can reach it
 * without loading a module (`always`: JavaScript's intrinsics, `process`, and the stream and
 * event classes behind `process` and `process.stdout`), or only through a built-in module's
 * exports (`modules`: checked after runs that loaded a module, see module-access.ts).
 */
export interface WatchedObject {
  readonly object: object;
  readonly name: string;
  readonly tier: 'always' | 'modules';
}

/**
 * Built-in modules not watched: the worker's own `console` (scripts get an emulated one), and
 * experimental, deprecated or debugging ones (`domain`, `inspector`, `punycode`, `repl`, `sys`,
 * `test`, `trace_events`, `wasi`…) whose members are process-wide hooks rather than library
 * functions. A script that patches one of them is not seen (docs/ISOLATION-node.md).
 */
const UNWATCHED_MODULES: ReadonlySet<string> = new Set([
  'console', 'domain', 'inspector', 'inspector/promises', 'punycode', 'repl', 'sqlite', 'sys', 'test',
  'test/reporters', 'trace_events', 'wasi',
]);


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
 * Built-in modules the worker has loaded before any script runs (the runtime imports them
 * itself), captured at start; the others are captured when first loaded (see module-access.ts),
 * so that a worker pays neither the memory nor the checks of modules its scripts never use.
 */
export const PRELOADED_MODULES: readonly string[] = [
  'buffer', 'child_process', 'crypto', 'dns', 'events', 'fs', 'module', 'net', 'os', 'path', 'stream', 'timers',
  'url', 'util', 'worker_threads', 'zlib',
];

/**
 * The watched objects, collected once for what a script reaches without loading a module, then
 * per built-in module as it is loaded. Each object is listed once, under the first name found.
 */
export class WatchedObjects {
  readonly #seen = new Map<object, string>();
  readonly #always = reachableWithoutModules();
  readonly #modules = new Set<string>();

  /** The objects a script reaches without loading a module, and those of {@link PRELOADED_MODULES}. */
  initial(): WatchedObject[] {
    const added: WatchedObject[] = [];
    for (const [key, value] of dataValues(globalThis)) if (!NOT_BUILTIN.has(key)) this.#addWithPrototype(value, key, added);
    this.#addWithPrototype(Buffer, 'Buffer', added);
    for (const [name, value] of hiddenIntrinsics()) this.#add(value, name, added);
    // `process` itself only: its members are the running process's state (its IPC channel, its
    // module load list, its streams).
    this.#add(process, 'process', added);
    const load = createRequire(import.meta.url);
    // Deprecated, yet `require.extensions['.txt'] = …` still teaches every later `require` a new loader.
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- watched, not used
    this.#add(load.extensions, 'require.extensions', added);
    for (const id of PRELOADED_MODULES) added.push(...this.module(id, load(id)));
    const { inspect } = load('util') as { inspect: { defaultOptions: unknown } };
    this.#add(inspect.defaultOptions, "require('util').inspect.defaultOptions", added);
    return added;
  }

  /**
   * The objects of built-in module `id` not watched yet: its exports, the classes and namespaces
   * they hold, and those classes' prototypes. Empty for a module already seen or not watched.
   * @param id - as required (`node:fs`, `fs/promises`)
   */
  module(id: string, exports: unknown): WatchedObject[] {
    const name = id.startsWith('node:') ? id.slice(5) : id;
    if (this.#modules.has(name) || UNWATCHED_MODULES.has(name) || name.startsWith('_')) return [];
    this.#modules.add(name);
    const added: WatchedObject[] = [];
    if (!isObject(exports) || exports === process || isInstance(exports)) return added;
    this.#addWithPrototype(exports, `require('${name}')`, added);
    for (const [key, value] of dataValues(exports)) {
      // Classes, functions and namespaces; not instances (`http.globalAgent`, an Agent whose
      // socket counts change as it works), whose members are state, not API.
      if (!isInstance(value)) this.#addWithPrototype(value, `require('${name}').${key}`, added);
    }
    return added;
  }

  #add(value: unknown, name: string, added: WatchedObject[]): void {
    if (!isObject(value) || this.#seen.has(value)) return;
    this.#seen.set(value, name);
    const tier = this.#always.has(value) || !name.startsWith('require(') ? 'always' : 'modules';
    added.push({ object: value, name, tier });
  }

  /**
   * A value and, for a class, its prototype. A function with no members of its own (no statics)
   * and a frozen object have nothing a script could change.
   */
  #addWithPrototype(value: unknown, name: string, added: WatchedObject[]): void {
    if (!isObject(value) || Object.isFrozen(value)) return;
    if (typeof value !== 'function' || Reflect.ownKeys(value).some((key) => !PLAIN_FUNCTION_KEYS.has(key))) {
      this.#add(value, name, added);
    }
    if (typeof value !== 'function') return;
    const prototype = Reflect.getOwnPropertyDescriptor(value, 'prototype')?.value as unknown;
    if (isObject(prototype) && Reflect.ownKeys(prototype).length > 1) this.#add(prototype, `${name}.prototype`, added);
  }
}

/**
 * The module-defined prototypes and classes a script reaches with no `require`: along the
 * prototype chains of `process`, of its emulated streams and console, of an EventEmitter.
 */
function reachableWithoutModules(): Set<object> {
  const sink = new Writable({
    write: (_chunk, _encoding, callback) => {
      callback();
    },
  });
  const samples: object[] = [process, sink, new Readable({ read: () => undefined }), new Console({ stdout: sink }), new EventEmitter()];
  const reached = new Set<object>();
  for (const sample of samples) {
    for (let proto = Object.getPrototypeOf(sample) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
      reached.add(proto);
      const constructor = Reflect.getOwnPropertyDescriptor(proto, 'constructor')?.value as unknown;
      if (isObject(constructor)) reached.add(constructor);
    }
  }
  return reached;
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
