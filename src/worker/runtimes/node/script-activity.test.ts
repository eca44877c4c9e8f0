// This file implements the tests of a script's activity from the perspective of the node runtime
// asking "is the script done?": only what script code starts counts, unref'd and synchronous
// work does not, finished work stops counting, thread-pool jobs Node does not list count until
// their callback, and a sweep clears timers and kills children; what it cannot stop is named.
import { spawn } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptActivity } from './script-activity.ts';

const activities: ScriptActivity[] = [];
afterEach(() => {
  for (const activity of activities.splice(0)) {
    activity.end();
    activity.disable();
  }
});

function started(): ScriptActivity {
  const activity = new ScriptActivity();
  activity.enable();
  activities.push(activity);
  activity.begin();
  return activity;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Resolves once `activity` is no longer busy, looking once per turn. */
async function idle(activity: ScriptActivity): Promise<void> {
  while (activity.busy()) await turn();
}

describe('ScriptActivity', () => {
  it("counts a timer the script starts until it ran; not the worker's own", async () => {
    const before = setTimeout(() => undefined, 60_000);
    const activity = started();
    // The runtime's own timers are unref'd: they never keep the "process" alive.
    const runtimeTimer = activity.outside(() => setTimeout(() => undefined, 60_000).unref());
    expect(activity.busy()).toBe(false);
    let fired = false;
    activity.run(() => setTimeout(() => (fired = true), 5));
    expect(activity.busy()).toBe(true);
    await idle(activity);
    expect(fired).toBe(true);
    clearTimeout(runtimeTimer);
    clearTimeout(before);
  });

  it('stops counting a timer the script cleared, and an interval cleared from its callback', async () => {
    const activity = started();
    activity.run(() => {
      const later = setTimeout(() => undefined, 60_000);
      setImmediate(() => {
        clearTimeout(later);
      });
      let ticks = 0;
      const interval = setInterval(() => {
        if (++ticks >= 2) clearInterval(interval);
      }, 1);
    });
    expect(activity.busy()).toBe(true);
    await idle(activity);
    expect(activity.leftovers()).toEqual([]);
  });

  it("does not count unref'd timers, promises or synchronous work", async () => {
    const activity = started();
    activity.run(() => {
      setInterval(() => undefined, 1000).unref();
      void Promise.resolve(1).then(() => 2);
    });
    await turn();
    expect(activity.busy()).toBe(false);
    activity.sweep(false);
  });

  it('counts a thread-pool job Node does not list until its callback ran, and tells its watcher', async () => {
    const activity = started();
    let changes = 0;
    activity.watch(() => changes++);
    let derived: Buffer | undefined;
    activity.run(() => {
      pbkdf2('pw', 'salt', 50_000, 16, 'sha256', (_err, key) => (derived = key));
    });
    expect(activity.busy()).toBe(true);
    expect(activity.leftovers()).toEqual(['thread-pool job']);
    await idle(activity);
    expect(derived).toHaveLength(16);
    expect(changes).toBeGreaterThan(0);
  });

  it('tells its watcher nothing about runtime code', async () => {
    const activity = started();
    let changes = 0;
    activity.watch(() => changes++);
    setImmediate(() => undefined);
    pbkdf2('pw', 'salt', 1, 16, 'sha256', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(changes).toBe(0);
  });

  it('sweep clears timers; sweep(stop) kills a child; a listening server is named, not closed', async () => {
    const activity = started();
    let ticks = 0;
    const { child, server } = activity.run(() => {
      setInterval(() => ticks++, 1);
      return { child: spawn('sleep', ['30']), server: createServer().listen(0, '127.0.0.1') };
    });
    await new Promise((resolve) => server.once('listening', resolve));
    activity.sweep(false);
    const seen = ticks;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ticks).toBe(seen);
    const exited = new Promise((resolve) => {
      child.once('exit', (_code, signal) => {
        resolve(signal);
      });
    });
    activity.sweep(true);
    expect(await exited).toBe('SIGKILL');
    // The child's process handle and pipes close once it is reaped.
    while (activity.leftovers().length > 1) await turn();
    expect(activity.leftovers()).toEqual(['TCPServerWrap']);
    await new Promise((resolve) => server.close(resolve));
    await turn();
    expect(activity.leftovers()).toEqual([]);
    expect(activity.busy()).toBe(false);
  });
});
