// This file implements the reflective changes of built-in objects from the perspective of the
// node runtime resetting them after each request: an assignment shows in a value or in the count
// of enumerable keys, which the baselines compare cheaply, but a property defined (non-enumerable,
// an accessor, non-configurable), a frozen object or a swapped prototype does not. The functions
// that make those changes (`Object.defineProperty` and kin, `Reflect.*`, `__proto__`,
// `__defineGetter__`) are wrapped once per worker, through Proxies so that their names and
// lengths stay, and tell the baseline that owns the target that it must be compared in full.
import { types } from 'node:util';

const { isProxy } = types;
// As loaded with this module: installing and removing the wrappers is not a script's change.
const { apply, defineProperty, getOwnPropertyDescriptor } = Reflect;

/** Called when a watched object may have been changed reflectively (undefined: maybe any of them, through a Proxy). */
type OnTouched = (target: object | undefined) => void;

const watched = new WeakMap<object, OnTouched>();
/** Told when the target is a Proxy: it may stand for any watched object. */
const everyone = new Set<OnTouched>();

/**
 * Calls `onTouched` whenever one of `targets` is passed to a reflective mutator (and whenever a
 * Proxy is: it may wrap one). One owner per object; a later registration replaces it.
 * @returns the function that stops watching them
 */
export function watchMutations(targets: Iterable<object>, onTouched: OnTouched): () => void {
  const list = [...targets];
  for (const target of list) watched.set(target, onTouched);
  everyone.add(onTouched);
  return () => {
    for (const target of list) if (watched.get(target) === onTouched) watched.delete(target);
    everyone.delete(onTouched);
  };
}

function touch(target: unknown): void {
  if ((typeof target !== 'object' || target === null) && typeof target !== 'function') return;
  const onTouched = watched.get(target);
  if (onTouched !== undefined) onTouched(target);
  else if (isProxy(target)) for (const listener of everyone) listener(undefined);
}

type AnyFunction = (...args: unknown[]) => unknown;

/** The functions whose first argument (or `this`) is the object they change. */
const MUTATORS: readonly [object, readonly string[]][] = [
  [Object, ['defineProperty', 'defineProperties', 'setPrototypeOf', 'preventExtensions', 'freeze', 'seal', 'assign']],
  [Reflect, ['defineProperty', 'setPrototypeOf', 'preventExtensions', 'deleteProperty', 'set']],
];

/** Methods of `Object.prototype` that change their receiver. */
const RECEIVER_MUTATORS = ['__defineGetter__', '__defineSetter__'];

const originals: (() => void)[] = [];

/**
 * Wraps the reflective mutators (idempotent per worker). Install before any script runs and
 * before the built-ins are captured (the wrappers are then part of the baseline).
 */
export function installMutationBarrier(): void {
  if (originals.length > 0) return;
  for (const [home, names] of MUTATORS) {
    for (const name of names) {
      wrapMethod(home, name, (target, thisArg, args) => {
        touch(args[0]);
        return apply(target, thisArg, args);
      });
    }
  }
  for (const name of RECEIVER_MUTATORS) {
    wrapMethod(Object.prototype, name, (target, thisArg, args) => {
      touch(thisArg);
      return apply(target, thisArg, args);
    });
  }
  const proto = getOwnPropertyDescriptor(Object.prototype, '__proto__');
  const set = proto?.set as AnyFunction | undefined;
  if (proto !== undefined && set !== undefined) {
    const wrapped = new Proxy(set, {
      apply: (target, thisArg, args: unknown[]): unknown => {
        touch(thisArg);
        return apply(target, thisArg, args);
      },
    });
    defineProperty(Object.prototype, '__proto__', { ...proto, set: wrapped });
    originals.push(() => defineProperty(Object.prototype, '__proto__', proto));
  }
}

/** Puts the original functions back (tests). */
export function uninstallMutationBarrier(): void {
  for (const undo of originals.splice(0).reverse()) undo();
}

function wrapMethod(home: object, name: string, apply: (target: AnyFunction, thisArg: unknown, args: unknown[]) => unknown): void {
  const descriptor = getOwnPropertyDescriptor(home, name);
  const original = descriptor?.value as unknown;
  if (descriptor === undefined || typeof original !== 'function') return;
  defineProperty(home, name, { ...descriptor, value: new Proxy(original as AnyFunction, { apply }) });
  originals.push(() => defineProperty(home, name, descriptor));
}
