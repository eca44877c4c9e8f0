// This file implements the tests of rate-limited.ts from the perspective of an operator: a
// flood of one event writes one line per second, each counting what it stands for.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { RateLimitedLog } from './rate-limited.ts';

function capture(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
  return { log, lines };
}

describe('RateLimitedLog', () => {
  it('writes at most one line per second, counting the occurrences since the last', () => {
    const { log, lines } = capture();
    let now = 10_000;
    const refused = new RateLimitedLog(log, 'warn', 'connection refused', () => now);
    expect(refused.note({ listen: 'a' })).toBe(true);
    for (let i = 0; i < 5000; i++) refused.note({ listen: 'a' });
    now += 999;
    expect(refused.note({ listen: 'a' })).toBe(false);
    now += 1;
    expect(refused.note({ listen: 'a' })).toBe(true);
    expect(lines.map((l) => [l.msg, l.count, l.listen])).toEqual([
      ['connection refused', 1, 'a'], ['connection refused', 5002, 'a'],
    ]);
  });
});
