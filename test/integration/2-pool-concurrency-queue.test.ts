// This file implements issue 2's concurrency check from the perspective of several HTTP clients
// at once behind nginx: a pool of 2 single-request workers serves 4 concurrent requests, two at
// a time, the other two waiting in the pool's queue until a worker is free. The requests run a
// gated script the test holds and releases, so "two at a time" is seen, not timed.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { GateSlot, released } from './helpers/gate.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const gate = new GateSlot();

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ dir, root, fastcgiSocket }) => {
    await gate.open(dir, join(root, 'hold.sh'));
    return { main: { ...defaultPool(root, fastcgiSocket), pm: { max_children: 2 } } };
  },
});

describe('a pool of 2 workers under 4 concurrent requests', () => {
  it('runs two at a time, the other two queued, each queued one as soon as a worker is free', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const since = s.daemon.logs.length;
    const names = ['n1', 'n2', 'n3', 'n4'];
    const startedNow = async (): Promise<string[]> => {
      const pids = await Promise.all(names.map((n) => gate.get().started(n)));
      return names.filter((_, i) => pids[i] !== undefined);
    };
    /** Waits for `count` started scripts with the pool showing `busy` and `queued`. */
    const reach = (count: number, queued: number) =>
      waitUntil(
        `${count} started, 2 busy, ${queued} queued`,
        async () => {
          const pool = await poolStatus(control, 'main');
          const started = await startedNow();
          return started.length === count && pool.busy === 2 && pool.queueLength === queued
            ? started
            : undefined;
        },
        EVENT_TIMEOUT_MS,
        20,
      );
    try {
      const responses = Promise.all(names.map((n) => s.request(`/hold.sh?${n}`)));
      // Two run, two wait in the queue: no more than two at once.
      const first = await reach(2, 2);
      // One released: its worker takes exactly one queued request.
      await gate.get().release(first[0] ?? '');
      const second = await reach(3, 1);
      expect(second).toEqual(expect.arrayContaining(first));
      // Another: the last queued request runs.
      await gate.get().release(first[1] ?? '');
      await reach(4, 0);
      await gate.get().release(...names);
      const answers = await responses;
      expect(answers.map((r) => [r.status, r.text])).toEqual(names.map((n) => [200, released(n)]));
      await waitUntil(
        '4 request lines',
        () => s.daemon.logs.slice(since).filter((e) => e.msg === 'request' && e.status === 200).length >= 4,
        EVENT_TIMEOUT_MS,
      );
      const pool = await poolStatus(control, 'main');
      expect(pool.maxQueueLength).toBe(2);
      expect(pool.maxChildrenReached).toBeGreaterThanOrEqual(2);
    } finally {
      await gate.get().release(...names);
    }
  });
});
