// This file implements the async tracker's tests from the perspective of the node runtime
// asking "is the script done?": only what script code creates counts, unref'd work does not,
// finished work stops counting, and a sweep clears timers and closes handles.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AsyncTracker } from './async-tracker.ts';

const trackers: AsyncTracker[] = [];
afterEach(() => {
  for (const tracker of trackers.splice(0)) tracker.disable();
});

function tracker(): AsyncTracker {
  const created = new AsyncTracker();
  created.enable();
  trackers.push(created);
  return created;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('AsyncTracker', () => {
  it("counts a timer the script starts until it ran; not the runtime's own timers", async () => {
    const t = tracker();
    const outside = setTimeout(() => undefined, 50);
    expect(t.busy()).toBe(false);
    let fired = false;
    t.run(() => setTimeout(() => (fired = true), 5));
    expect(t.busy()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await turn();
    expect(fired).toBe(true);
    expect(t.busy()).toBe(false);
    clearTimeout(outside);
  });

  it('stops counting a timer the script cleared, or an interval once cleared from its callback', async () => {
    const t = tracker();
    let intervalCleared = (): void => undefined;
    const cleared = new Promise<void>((resolve) => (intervalCleared = resolve));
    t.run(() => {
      const later = setTimeout(() => undefined, 60_000);
      setImmediate(() => {
        clearTimeout(later);
      });
      let ticks = 0;
      const interval = setInterval(() => {
        if (++ticks < 2) return;
        clearInterval(interval);
        intervalCleared();
      }, 1);
    });
    expect(t.busy()).toBe(true);
    await cleared;
    await turn();
    expect(t.busy()).toBe(false);
  });

  it('records nothing created through outside(), even when called from script code', async () => {
    const t = tracker();
    let timer: NodeJS.Timeout | undefined;
    t.run(() => {
      timer = t.outside(() => setTimeout(() => undefined, 60_000));
    });
    await turn();
    expect(t.size).toBe(0);
    expect(t.busy()).toBe(false);
    clearTimeout(timer);
  });

  it("counts what the script's callbacks start in turn", async () => {
    const t = tracker();
    t.run(() => setImmediate(() => setTimeout(() => undefined, 30)));
    await turn();
    await turn();
    expect(t.busy()).toBe(true);
  });

  it("does not count unref'd timers, promises or synchronous work", async () => {
    const t = tracker();
    t.run(() => {
      setInterval(() => undefined, 1000).unref();
      void Promise.resolve(1).then(() => 2);
      randomBytes(8);
    });
    await turn();
    expect(t.busy()).toBe(false);
    expect(t.size).toBeGreaterThan(0);
    t.sweep(false);
  });

  it('tells its watcher when a script callback returned or a resource is gone; not after runtime code', async () => {
    const t = tracker();
    let changes = 0;
    t.watch(() => changes++);
    setImmediate(() => undefined);
    await turn();
    expect(changes).toBe(0);
    t.run(() => setImmediate(() => undefined));
    await turn();
    await turn();
    expect(changes).toBeGreaterThan(0);
    t.unwatch();
  });

  it('sweep clears timers, and with destroyHandles closes servers', async () => {
    const t = tracker();
    let ticks = 0;
    const server = t.run((): Server => {
      setInterval(() => ticks++, 1);
      return createServer().listen(0, '127.0.0.1');
    });
    await new Promise((resolve) => server.once('listening', resolve));
    t.sweep(false);
    const seen = ticks;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ticks).toBe(seen);
    expect(t.busy()).toBe(true);
    t.sweep(true);
    await turn();
    await turn();
    expect(t.busy()).toBe(false);
  });
});
