// This file implements the tests of matcher.ts (and fifo.ts) from the perspective of requests
// looking for free worker channels: the most recently freed channel first, waiting requests in
// arrival order, a withdrawn request skipped, `queue.timeout` enforced by one timer under fake
// time, and every waiting request handed over at once.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import { NameValueDecoder } from '../../fastcgi/name-value.ts';
import { RelayRequest, type RequestHandler } from '../relay/relay-request.ts';
import type { WorkerChannel } from '../relay/worker-channel.ts';
import { Fifo } from './fifo.ts';
import { Matcher } from './matcher.ts';

const quiet: RequestHandler = {
  write: () => true, cork: () => undefined, uncork: () => undefined, onDrain: () => undefined,
  pauseInput: () => undefined, resumeInput: () => undefined, finished: () => undefined, answer: () => undefined,
  reroute: () => undefined,
};

function request(id: number): RelayRequest {
  const r = new RelayRequest(id, true, quiet, 0);
  r.routing(new NameValueDecoder().finish());
  r.routed({ pool: testPoolConfig(), scriptFilename: Buffer.from('/srv/a'), pathInfo: Buffer.alloc(0) });
  return r;
}

/** A channel that records what ran on it (as WorkerChannel.run: the request becomes active). */
function channel(name: string, ran: string[]): WorkerChannel {
  const upstream = { stdin: () => undefined, abort: () => undefined };
  return {
    run: (r: RelayRequest) => {
      if (r.assign(upstream) === undefined) return false;
      ran.push(`${name}:${r.requestId}`);
      return true;
    },
  } as unknown as WorkerChannel;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function matcher(queueTimeoutMs = 0) {
  const waits: number[] = [];
  const expired: number[] = [];
  const m = new Matcher({
    now: () => Date.now(), queueTimeoutMs,
    waited: (ms) => waits.push(ms),
    expired: (r) => { expired.push(r.requestId); r.answer(503, Buffer.alloc(0)); },
  });
  return { m, waits, expired };
}

describe('Matcher', () => {
  it('runs a request on the most recently freed channel, and none when none is free', () => {
    const ran: string[] = [];
    const { m } = matcher();
    expect(m.run(request(1))).toBe(false);
    m.park(channel('a', ran));
    m.park(channel('b', ran));
    expect(m.run(request(2))).toBe(true);
    expect(m.run(request(3))).toBe(true);
    expect(ran).toEqual(['b:2', 'a:3']);
  });

  it('gives a freed channel the longest waiting request, skipping one that was withdrawn', () => {
    const ran: string[] = [];
    const { m, waits } = matcher();
    const [one, two, three] = [request(1), request(2), request(3)];
    m.enqueue(one);
    vi.advanceTimersByTime(10);
    m.enqueue(two);
    m.enqueue(three);
    expect(m.waiting).toBe(3);
    expect(one.abort()).toBe('queued');
    m.withdraw(one);
    m.withdraw(request(9)); // not waiting here: nothing changes
    expect(m.waiting).toBe(2);
    const free = channel('a', ran);
    expect(m.next(free)).toBe(true);
    expect(m.next(free)).toBe(true);
    expect(m.next(free)).toBe(false);
    expect(ran).toEqual(['a:2', 'a:3']);
    expect(waits).toEqual([0, 0]);
    expect([m.waiting, m.hasWaiting()]).toEqual([0, false]);
  });

  it('answers a request that waited queue.timeout, with one timer re-armed for the next head', () => {
    const { m, expired } = matcher(1000);
    m.enqueue(request(1));
    vi.advanceTimersByTime(600);
    m.enqueue(request(2));
    vi.advanceTimersByTime(400);
    expect(expired).toEqual([1]);
    expect(m.waiting).toBe(1);
    vi.advanceTimersByTime(599);
    expect(expired).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual([1, 2]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('hands every waiting request over, forgets idle channels, and skips a request over before it ran', () => {
    const ran: string[] = [];
    const { m } = matcher(1000);
    const [one, two] = [request(1), request(2)];
    m.enqueue(one);
    m.enqueue(two);
    two.answer(503, Buffer.alloc(0));
    expect(m.hasWaiting()).toBe(true);
    expect(m.takeAll()).toEqual([one]);
    expect(m.hasWaiting()).toBe(false);
    expect([m.waiting, vi.getTimerCount()]).toEqual([0, 0]);
    const a = channel('a', ran);
    m.park(a);
    m.park(channel('b', ran));
    m.forget([a]);
    const over = request(3);
    over.abort();
    expect(m.run(over)).toBe(true);
    expect(m.run(request(4))).toBe(true);
    expect(ran).toEqual(['b:4']);
    m.park(a);
    m.forgetAll();
    expect(m.run(request(5))).toBe(false);
  });
});

describe('Matcher while its pool stops', () => {
  it('sees no waiting request once the only one was aborted, even without its withdrawal (a removed pool)', () => {
    const { m } = matcher();
    const lost = request(1);
    m.enqueue(lost);
    lost.abort();
    expect(m.waiting).toBe(1);
    expect(m.hasWaiting()).toBe(false);
    expect(m.waiting).toBe(0);
  });
});

describe('Fifo', () => {
  it('keeps order across compaction and drains', () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 3000; i++) fifo.push(i);
    for (let i = 0; i < 2500; i++) expect(fifo.shift()).toBe(i);
    expect([fifo.length, fifo.peek()]).toEqual([500, 2500]);
    expect(fifo.drain()).toHaveLength(500);
    expect([fifo.length, fifo.shift(), fifo.peek()]).toEqual([0, undefined, undefined]);
  });
});
