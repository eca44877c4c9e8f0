// This file implements "did this run reach a built-in module?" from the perspective of the node
// runtime deciding how much of the built-ins to compare after a request: the exports of Node's
// modules, and the classes they export, can only be reached by loading a module — `require`
// (every CommonJS `require` goes through `Module.prototype.require`, the documented
// `module.require`), `process.getBuiltinModule`, or an `import()` in the script's source — so a
// run that did none of these, under `state.modules = "reset"`, cannot have changed them. The
// same wrappers tell the runtime when a built-in module is loaded for the first time, so that its
// objects are captured then, before the caller gets them.
import Module, { isBuiltin } from 'node:module';

type AnyFunction = (...args: unknown[]) => unknown;

const { apply, defineProperty, getOwnPropertyDescriptor } = Reflect;

/** Whether a module may have been reached since the last {@link ModuleAccess.take}. */
export class ModuleAccess {
  #reached = false;

  /**
   * Wraps `Module.prototype.require` and `process.getBuiltinModule` (once per runtime, before the
   * built-ins are captured: the wrappers are part of the baseline).
   * @param onBuiltin - called with each built-in module's id and exports after it was loaded
   *   through them, before the caller gets it (the first time matters: see builtin-objects.ts)
   */
  constructor(onBuiltin: (id: string, exports: unknown) => void = () => undefined) {
    const loaded = (id: unknown, exports: unknown): void => {
      this.#reached = true;
      if (typeof id === 'string' && isBuiltin(id)) onBuiltin(id, exports);
    };
    wrap(Module.prototype, 'require', loaded);
    wrap(process, 'getBuiltinModule', loaded);
  }

  /** The run in progress may load modules in ways the wrappers do not see (`import()` in its source). */
  reached(): void {
    this.#reached = true;
  }

  /** Whether a module may have been reached since the last call; starts over. */
  take(): boolean {
    const reached = this.#reached;
    this.#reached = false;
    return reached;
  }
}

function wrap(home: object, name: string, onLoad: (id: unknown, exports: unknown) => void): void {
  const descriptor = getOwnPropertyDescriptor(home, name);
  const original = descriptor?.value as unknown;
  if (descriptor === undefined || typeof original !== 'function' || descriptor.configurable !== true) return;
  const proxied = new Proxy(original as AnyFunction, {
    apply: (target, thisArg, args: unknown[]): unknown => {
      const exports = apply(target, thisArg, args);
      onLoad(args[0], exports);
      return exports;
    },
  });
  defineProperty(home, name, { ...descriptor, value: proxied });
}
