// This file implements issue 3's `handler.concurrency` check (item 4) from the perspective of
// four HTTP clients at once behind nginx: one worker with `handler.concurrency = 4` runs four
// 1-second requests side by side instead of one after the other.
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/paths.ts';
import { useStack } from './helpers/use-stack.ts';

const stack = useStack({
  pool: {
    runtime: 'handler',
    'handler.module': `${REPO_ROOT}/test/integration/fixtures/handlers/express-app.mjs`,
    'handler.concurrency': 4,
    match: ['**'],
    pm: { max_children: 1 },
  },
});

describe('one handler worker with handler.concurrency = 4', () => {
  it('answers four concurrent 1-second requests in under 3 s, all in the same worker', async () => {
    const started = Date.now();
    const responses = await Promise.all(
      [1, 2, 3, 4].map((i) => stack().request(`/wait?ms=1000&i=${i}`, { timeoutMs: 10_000 })),
    );
    const elapsed = Date.now() - started;
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const bodies = responses.map((r) => JSON.parse(r.text) as { waited: number; pid: number });
    expect(bodies.every((b) => b.waited === 1000)).toBe(true);
    expect(new Set(bodies.map((b) => b.pid)).size).toBe(1);
    // One at a time would take ≥ 4 s; side by side about 1 s.
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3000);
  });

  it('queues the fifth request behind the four channels', async () => {
    const started = Date.now();
    const responses = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => stack().request(`/wait?ms=1000&i=${i}`, { timeoutMs: 10_000 })),
    );
    const elapsed = Date.now() - started;
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(5000);
  });
});
