// This file implements issue 3's `handler.concurrency` check (item 4) from the perspective of
// HTTP clients behind nginx: one worker with `handler.concurrency = 4` holds four requests side
// by side instead of one after the other, and a fifth waits in the pool's queue until one of
// the four ends. The Express app's `/hold` route keeps each request until the test releases it,
// so "side by side" and "queued" are seen, not timed.
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { GateSlot } from './helpers/gate.ts';
import type { HttpResponse } from './helpers/http.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const gate = new GateSlot();

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ dir, root, fastcgiSocket }) => {
    await gate.open(dir);
    return {
      main: {
        ...defaultPool(root, fastcgiSocket),
        runtime: 'handler',
        'handler.module': `${REPO_ROOT}/test/integration/fixtures/handlers/express-app.mjs`,
        'handler.concurrency': 4,
        match: ['**'],
        pm: { max_children: 1 },
      },
    };
  },
});

interface Held {
  readonly name: string;
  readonly pid: number;
  readonly mostHeld: number;
}

function hold(name: string): Promise<HttpResponse> {
  return stack().request(`/hold?gate=${encodeURIComponent(gate.get().dir)}&name=${name}`);
}

/** Resolves with the pids the scripts `names` wrote, once every one of them started. */
async function allStarted(names: readonly string[]): Promise<number[]> {
  return Promise.all(names.map((n) => gate.get().waitStarted(n)));
}

function bodies(responses: readonly HttpResponse[]): Held[] {
  expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
  return responses.map((r) => JSON.parse(r.text) as Held);
}

describe('one handler worker with handler.concurrency = 4', () => {
  it('holds four concurrent requests side by side, all in the same worker', async () => {
    const names = ['a1', 'a2', 'a3', 'a4'];
    try {
      const responses = Promise.all(names.map(hold));
      // All four inside the handler at once, none released: side by side, not one at a time.
      const pids = await allStarted(names);
      expect(new Set(pids).size).toBe(1);
      await gate.get().release(...names);
      const answers = bodies(await responses);
      expect(answers.map((b) => b.name)).toEqual(names);
      expect(new Set(answers.map((b) => b.pid))).toEqual(new Set(pids));
      expect(answers.every((b) => b.mostHeld === 4)).toBe(true);
    } finally {
      await gate.get().release(...names);
    }
  });

  it('queues the fifth request behind the four channels', async () => {
    const control = controlSocketIn(stack().dir);
    const names = ['b1', 'b2', 'b3', 'b4', 'b5'];
    try {
      const responses = names.map((n) => ({ n, response: hold(n) }));
      // Four held in the worker, one waiting in the pool's queue (which four: nginx decides).
      await waitUntil(
        'four requests held, one queued',
        async () => {
          const started = (await Promise.all(names.map((n) => gate.get().started(n)))).filter(
            (p) => p !== undefined,
          );
          return started.length === 4 && (await poolStatus(control, 'main')).queueLength === 1;
        },
        EVENT_TIMEOUT_MS,
        20,
      );
      const waiting: string[] = [];
      for (const n of names) if ((await gate.get().started(n)) === undefined) waiting.push(n);
      expect(waiting).toHaveLength(1);
      const runningNames = names.filter((n) => !waiting.includes(n));
      // One of the four ends: the queued one gets its channel.
      await gate.get().release(runningNames[0] ?? '');
      await gate.get().waitStarted(waiting[0] ?? '');
      await gate.get().release(...names);
      const answers = bodies(await Promise.all(responses.map((r) => r.response)));
      expect(new Set(answers.map((b) => b.pid)).size).toBe(1);
      // Never five at once in the worker.
      expect(Math.max(...answers.map((b) => b.mostHeld))).toBe(4);
      expect((await poolStatus(control, 'main')).maxQueueLength).toBe(1);
    } finally {
      await gate.get().release(...names);
    }
  });
});
