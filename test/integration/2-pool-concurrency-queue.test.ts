// This file implements issue 2's concurrency check from the perspective of several HTTP clients
// at once behind nginx: a pool of 2 single-request workers serves 4 concurrent 2-second
// requests, two at a time, the other two waiting in the pool's queue.
import { describe, expect, it } from 'vitest';
import { useStack } from './helpers/use-stack.ts';

const stack = useStack({ pool: { pm: { max_children: 2 } } });

describe('a pool of 2 workers under 4 concurrent requests', () => {
  it('answers all four 2-second requests in about 4 s (two at a time, the rest queued)', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const started = Date.now();
    const responses = await Promise.all(
      [1, 2, 3, 4].map((i) => stack().request(`/slow-2s.sh?n=${i}`, { timeoutMs: 20_000 })),
    );
    const elapsed = Date.now() - started;
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    for (const r of responses) expect(r.text).toMatch(/^slept 2s in pid \d+\n$/);
    // ≥ 3.5 s: no more than two ran at once (the queue held the others); < 7.5 s: the queue
    // drained as soon as a worker was free. Generous so machine speed does not matter.
    expect(elapsed).toBeGreaterThanOrEqual(3500);
    expect(elapsed).toBeLessThan(7500);
    const lines = daemon.logs.slice(since).filter((e) => e.msg === 'request' && e.status === 200);
    expect(lines.length).toBeGreaterThanOrEqual(4);
  });
});
