// This file implements the tests of the built-ins baseline from the perspective of the node
// runtime putting built-in objects back after a request: replaced, added and deleted members come
// back, members defined reflectively or keyed by well-known symbols are seen, settings behind
// accessors return to their value, and what cannot be undone is reported, not hidden.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltinsBaseline } from './builtins-baseline.ts';
import { installMutationBarrier, uninstallMutationBarrier } from './mutation-barrier.ts';

beforeAll(() => {
  installMutationBarrier();
});
afterAll(() => {
  uninstallMutationBarrier();
});

/** A stand-in for a built-in: a prototype with methods, a namespace with a setting. */
function fixtures() {
  let level = 1;
  const proto = { greet: () => 'hello', count: 1 };
  Object.defineProperty(proto, 'hidden', { value: 'kept', writable: true, configurable: true, enumerable: false });
  const namespace = { version: 1 };
  Object.defineProperty(namespace, 'level', {
    get: () => level,
    set: (value: number) => {
      level = value;
    },
    enumerable: true,
    configurable: true,
  });
  const baseline = new BuiltinsBaseline(
    [
      { object: proto, name: 'Proto', tier: 'always' },
      { object: namespace, name: 'ns', tier: 'modules' },
    ],
    { symbolWatched: [proto], symbols: [Symbol.iterator] },
  );
  return { proto: proto as Record<PropertyKey, unknown>, namespace: namespace as { level: number; version: number }, baseline };
}

describe('BuiltinsBaseline', () => {
  it('puts back a replaced, an added and a deleted member', () => {
    const { proto, baseline } = fixtures();
    const greet = proto.greet;
    proto.greet = () => 'hacked';
    proto.isAdmin = true;
    Reflect.deleteProperty(proto, 'count');
    expect(baseline.restore()).toEqual([]);
    expect(proto.greet).toBe(greet);
    expect('isAdmin' in proto).toBe(false);
    expect(proto.count).toBe(1);
  });

  it('sees a non-enumerable member defined reflectively and a well-known symbol', () => {
    const { proto, baseline } = fixtures();
    Object.defineProperty(proto, 'toJSON', { value: () => 'hacked', configurable: true });
    proto[Symbol.iterator] = function* () {
      yield 1;
    };
    expect(baseline.restore()).toEqual([]);
    expect(Object.getOwnPropertyNames(proto)).not.toContain('toJSON');
    expect(Symbol.iterator in proto).toBe(false);
  });

  it('sees a change made through a Proxy of a watched object', () => {
    const { proto, baseline } = fixtures();
    Object.defineProperty(new Proxy(proto, {}), 'viaProxy', { value: 1, configurable: true });
    expect(baseline.restore()).toEqual([]);
    expect(Object.getOwnPropertyNames(proto)).not.toContain('viaProxy');
  });

  it('puts a setting behind an accessor back to its value', () => {
    const { namespace, baseline } = fixtures();
    namespace.level = 99;
    expect(baseline.restore()).toEqual([]);
    expect(namespace.level).toBe(1);
  });

  it('reports a frozen object and a non-configurable member it cannot put back', () => {
    const { proto, baseline } = fixtures();
    Object.defineProperty(proto, 'stuck', { value: 1, configurable: false });
    Object.freeze(proto);
    expect(baseline.restore()).toEqual([
      'Proto.greet: changed, not configurable',
      'Proto.count: changed, not configurable',
      'Proto.hidden: changed, not configurable',
      'Proto.stuck: added, not configurable',
      'Proto: made non-extensible (frozen or sealed)',
    ]);
  });

  it("compares the modules tier only when asked, unless a reflective change touched it", () => {
    const { namespace, baseline } = fixtures();
    const exports = namespace as unknown as Record<string, unknown>;
    exports.version = 2;
    expect(baseline.restore(false)).toEqual([]);
    expect(exports.version).toBe(2);
    expect(baseline.restore(true)).toEqual([]);
    expect(exports.version).toBe(1);
    Object.defineProperty(exports, 'defined', { value: 1, configurable: true });
    expect(baseline.restore(false)).toEqual([]);
    expect('defined' in exports).toBe(false);
  });

  it('compares a presence-only member by presence, and still puts it back when deleted or redefined', () => {
    const moving = { ppid: 7, other: 1 } as Record<string, unknown>;
    const baseline = new BuiltinsBaseline([{ object: moving, name: 'moving', tier: 'always' }], {
      presence: new Map([[moving, new Set(['ppid'])]]),
    });
    // A value that moves by itself (the real `process.ppid` ignores assignment) is not read.
    moving.ppid = 8;
    expect(baseline.restore()).toEqual([]);
    expect(moving.ppid).toBe(8);
    // Deleted: the presence check sees it, and the captured member comes back.
    Reflect.deleteProperty(moving, 'ppid');
    expect(baseline.restore()).toEqual([]);
    expect(moving.ppid).toBe(7);
    // Redefined reflectively (the barrier flags the object): put back too.
    Object.defineProperty(moving, 'ppid', { value: 1, writable: true, enumerable: true, configurable: true });
    expect(baseline.restore()).toEqual([]);
    expect(moving.ppid).toBe(7);
  });

  it('leaves unchanged objects alone, run after run', () => {
    const { proto, baseline } = fixtures();
    for (let run = 0; run < 3; run++) {
      proto.count = run + 10;
      expect(baseline.restore()).toEqual([]);
      expect(proto.count).toBe(1);
    }
    expect(baseline.restore()).toEqual([]);
  });
});
