// This file implements the tests of a node or handler worker's slow-log stack sample from the
// perspective of the supervisor combining what the worker sends: the sampler thread's frames
// (asked for nothing, possibly before the supervisor asks), and the event loop's answer to
// `stack-sample` (the resources a waiting script waits on, or silence while it is busy); what a
// worker sends is bounded and escaped.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import type { PoolConfig } from '../../config/schema.ts';
import { frameLines, StackSampler } from './worker-samples.ts';

const SLOW = { requestSlowlogTimeoutMs: 300, slowlog: '/var/log/slow.log' } as const;
const FRAMES = [{ function: 'spinHard', file: '/srv/spin.js', line: 3, column: 5 }, { function: '', file: '/srv/spin.js', line: 7, column: 1 }];

let clock = 0;
beforeEach(() => {
  vi.useFakeTimers();
  clock = 10_000;
});
afterEach(() => {
  vi.useRealTimers();
});

function sampler(pool: Partial<PoolConfig>): { stacks: StackSampler; asked: () => number } {
  let asked = 0;
  const stacks = new StackSampler(testPoolConfig({ runtime: 'node', ...SLOW, ...pool }), (m) => {
    if (m.type === 'stack-sample') asked += 1;
  }, () => clock);
  return { stacks, asked: () => asked };
}

describe('StackSampler (node and handler pools)', () => {
  it("a busy script: the thread's frames, then that the event loop did not answer", async () => {
    const { stacks, asked } = sampler({});
    const sample = stacks.sample(0);
    expect(asked()).toBe(1);
    stacks.answered({ type: 'stack', frames: FRAMES, paused: true, omitted: 9 });
    await vi.advanceTimersByTimeAsync(500);
    expect(await sample).toEqual({ stack: [
      'spinHard() /srv/spin.js:3:5', '(anonymous) /srv/spin.js:7:1',
      '(runtime node: the event loop did not answer within 500 ms: the script keeps it busy)',
    ] });
  });

  it('a waiting script: the resources, as without the thread', async () => {
    const { stacks } = sampler({ runtime: 'handler' });
    const sample = stacks.sample(0);
    stacks.answered({ type: 'stack', resources: ['Timeout', 'TCPSocketWrap'] });
    stacks.answered({ type: 'stack', frames: [], paused: false });
    expect(await sample).toEqual({ stack: ['(runtime handler: no JS stack; the event loop is free, the script waits on: Timeout, TCPSocketWrap)'] });
  });

  it('takes frames that came just before it asked (the thread timed the request a little later), not older ones', async () => {
    const { stacks } = sampler({});
    stacks.answered({ type: 'stack', frames: FRAMES, paused: true });
    clock += 100;
    const early = stacks.sample(0);
    await vi.advanceTimersByTimeAsync(500);
    expect((await early as { stack: string[] }).stack[0]).toBe('spinHard() /srv/spin.js:3:5');
    // A later slow request: those frames are older than request_slowlog_timeout, so not its own.
    clock += 300;
    const late = stacks.sample(0);
    await vi.advanceTimersByTimeAsync(3000);
    expect(await late).toEqual({ noStack: expect.stringMatching(/did not answer within 500 ms .*; the stack sampler sent nothing within 3000 ms$/) as unknown });
  });

  it('says why when the thread found only the worker running, and keeps the old text without the thread', async () => {
    const { stacks } = sampler({});
    const own = stacks.sample(0);
    stacks.answered({ type: 'stack', frames: [], paused: true, omitted: 12 });
    await vi.advanceTimersByTimeAsync(500);
    expect(await own).toEqual({ noStack: expect.stringMatching(/found only the worker's own code running$/) as unknown });
    for (const pool of [{ slowlogStack: false }, { slowlog: undefined }]) {
      const off = sampler(pool).stacks.sample(0);
      await vi.advanceTimersByTimeAsync(500);
      expect(await off).toEqual({ noStack: "runtime node: no JS stack; the worker's event loop did not answer within 500 ms (the script keeps it busy)" });
    }
  });
});

describe('frameLines (a worker message is data)', () => {
  it('bounds the frames and their text, and escapes control bytes', () => {
    const many = Array.from({ length: 100 }, () => ({ function: 'f', file: '/x.js', line: 1, column: 1 }));
    expect(frameLines(many)).toHaveLength(20);
    const [line] = frameLines([{ function: `evil\n[06-Dec-2026 00:00:00]  [pool x] pid 1${'a'.repeat(500)}`, file: { toString: () => 'no' }, line: 'NaN', column: 2 ** 40 }]);
    expect(line).not.toContain('\n');
    expect(line?.length).toBeLessThan(300);
    expect(line).toMatch(/^evil\\x0a\[06-Dec/);
    expect(line).toMatch(/\(\) :0:0$/);
    expect(frameLines('nope')).toEqual([]);
    expect(frameLines([null, 7])).toEqual(['(anonymous) :0:0', '(anonymous) :0:0']);
  });
});
