// This file implements the tests of channel-backstops.ts under fake timers, from the
// perspective of a worker that does not end its request in time.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RelayRequest } from '../relay/relay-request.ts';
import { ABORT_GRACE_MS, ChannelBackstops, TERMINATE_MARGIN_MS, type KillReason } from './channel-backstops.ts';

const request = { requestId: 1 } as unknown as RelayRequest;

function backstops(): { b: ChannelBackstops; kills: KillReason[]; slow: RelayRequest[] } {
  const kills: KillReason[] = [];
  const slow: RelayRequest[] = [];
  return { b: new ChannelBackstops({ kill: (r) => kills.push(r), slow: (r) => slow.push(r) }), kills, slow };
}

describe('ChannelBackstops', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('kills the worker request_terminate_timeout plus the margin after a request started, logs it slow before', () => {
    const { b, kills, slow } = backstops();
    b.started(request, 1000, 300);
    vi.advanceTimersByTime(300);
    expect(slow).toEqual([request]);
    vi.advanceTimersByTime(1000 + TERMINATE_MARGIN_MS - 301);
    expect(kills).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(kills).toEqual(['timeout']);
  });

  it('gives an aborted request the abort grace instead', () => {
    const { b, kills } = backstops();
    b.started(request, 60_000, 0);
    vi.advanceTimersByTime(10);
    b.aborted();
    vi.advanceTimersByTime(ABORT_GRACE_MS - 1);
    expect(kills).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(kills).toEqual(['abort']);
  });

  it('does nothing once the request finished, for the next request either; close leaves no timer', () => {
    const { b, kills, slow } = backstops();
    for (let i = 0; i < 100; i += 1) {
      b.started(request, 1000, 500);
      vi.advanceTimersByTime(400);
      b.finished();
    }
    vi.advanceTimersByTime(10_000);
    expect(kills).toEqual([]);
    expect(slow).toEqual([]);
    b.started(request, 1000, 0);
    b.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
