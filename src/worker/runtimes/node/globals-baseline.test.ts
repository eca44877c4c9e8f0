// This file implements the globals baseline's tests from the perspective of the node runtime
// putting `globalThis` back after each request under `state.globals = "reset"`: every kind of
// change a script can make is undone, also after an earlier restore reordered the keys.
import { describe, expect, it } from 'vitest';
import { compileValueCheck, GlobalsBaseline } from './globals-baseline.ts';
import { installMutationBarrier, uninstallMutationBarrier } from './mutation-barrier.ts';

const scratch = globalThis as Record<PropertyKey, unknown>;

describe('GlobalsBaseline', () => {
  it('removes globals added since the capture and restores replaced and deleted ones', () => {
    const originalClone = globalThis.structuredClone;
    const baseline = new GlobalsBaseline();
    scratch.cgiFpmAdded = 1;
    scratch[Symbol.for('cgi-fpm.test')] = 2;
    scratch.structuredClone = 'replaced';
    Reflect.deleteProperty(globalThis, 'queueMicrotask');
    baseline.restore();
    expect('cgiFpmAdded' in globalThis).toBe(false);
    expect(Symbol.for('cgi-fpm.test') in globalThis).toBe(false);
    expect(globalThis.structuredClone).toBe(originalClone);
    expect(typeof globalThis.queueMicrotask).toBe('function');
  });

  it('is a baseline for every later run', () => {
    const baseline = new GlobalsBaseline();
    for (let run = 0; run < 3; run++) {
      scratch.counter = ((scratch.counter as number | undefined) ?? 0) + 1;
      expect(scratch.counter).toBe(1);
      baseline.restore();
    }
  });

  it('undoes a non-enumerable global, a replaced Object and Reflect, and a value put back later in the order', () => {
    const { Object: realObject, Reflect: realReflect, setTimeout: realSetTimeout } = globalThis;
    const baseline = new GlobalsBaseline();
    Object.defineProperty(globalThis, 'cgiFpmHidden', { value: 1, configurable: true });
    scratch.Object = { is: () => true, hasOwn: () => true };
    scratch.Reflect = {};
    baseline.restore();
    expect(Object.getOwnPropertyNames(globalThis)).not.toContain('cgiFpmHidden');
    expect(globalThis.Object).toBe(realObject);
    expect(globalThis.Reflect).toBe(realReflect);
    // Deleted and put back: last in V8's order now, and still watched.
    Reflect.deleteProperty(globalThis, 'setTimeout');
    baseline.restore();
    scratch.setTimeout = 'replaced';
    baseline.restore();
    expect(globalThis.setTimeout).toBe(realSetTimeout);
  });

  it('puts back a lazy accessor a script assigned, and a data global it turned into a throwing getter', () => {
    const before = Reflect.getOwnPropertyDescriptor(globalThis, 'navigator');
    const atob = globalThis.atob;
    const baseline = new GlobalsBaseline();
    scratch.navigator = 'assigned';
    Object.defineProperty(globalThis, 'atob', {
      get: () => {
        throw new Error('a getter the check calls');
      },
      configurable: true,
    });
    baseline.restore();
    expect(Reflect.getOwnPropertyDescriptor(globalThis, 'navigator')).toEqual(before);
    expect(globalThis.atob).toBe(atob);
  });
});

describe('compileValueCheck', () => {
  const keys = ['Array', 'JSON', Symbol.toStringTag] as const;
  const values = keys.map((key): unknown => Reflect.get(globalThis, key) as unknown);
  const symbols = keys.map((key) => (typeof key === 'symbol' ? key : undefined));

  it('compares each data property with its captured value', () => {
    const check = compileValueCheck(keys);
    expect(check.length).toBe(4); // generated: (g, v, s, is)
    expect(check(globalThis, values, symbols, Object.is)).toBe(true);
    expect(check(globalThis, [Array, Math, values[2]], symbols, Object.is)).toBe(false);
  });

  it('falls back to a loop where code generation from strings is disallowed', () => {
    const realFunction = globalThis.Function;
    scratch.Function = function disallowed() {
      throw new EvalError('Code generation from strings disallowed for this context');
    };
    let check;
    try {
      check = compileValueCheck(keys);
    } finally {
      scratch.Function = realFunction;
    }
    expect(check.length).toBe(2); // the loop: (global, values)
    expect(check(globalThis, values, symbols, Object.is)).toBe(true);
    expect(check(globalThis, [Array, Math, values[2]], symbols, Object.is)).toBe(false);
  });
});

describe('GlobalsBaseline: what a descriptor comparison misses', () => {
  it("forgets a value assigned through one of Node's accessor globals (performance, Buffer)", () => {
    const { performance: realPerformance, Buffer: realBuffer } = globalThis;
    const baseline = new GlobalsBaseline();
    scratch.performance = 'user A';
    scratch.Buffer = 'user A';
    expect(globalThis.performance as unknown).toBe('user A');
    expect(baseline.restore()).toEqual([]);
    expect(globalThis.performance).toBe(realPerformance);
    expect(globalThis.Buffer).toBe(realBuffer);
  });

  it('sees a non-enumerable global defined reflectively, once the mutation barrier is installed', () => {
    installMutationBarrier();
    try {
      const baseline = new GlobalsBaseline();
      Object.defineProperty(globalThis, 'cgiFpmDefined', { value: 'user A', configurable: true });
      expect(baseline.restore()).toEqual([]);
      expect(Object.getOwnPropertyNames(globalThis)).not.toContain('cgiFpmDefined');
    } finally {
      uninstallMutationBarrier();
    }
  });

  it('reports a global it cannot take back', () => {
    const baseline = new GlobalsBaseline();
    Object.defineProperty(globalThis, 'cgiFpmStuck', { value: 1, configurable: false, enumerable: true });
    expect(baseline.restore()).toEqual(['globalThis.cgiFpmStuck added, not configurable']);
  });
});
