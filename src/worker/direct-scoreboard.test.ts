// This file implements the tests of direct-scoreboard.ts from the perspective of the
// supervisor's heartbeat reading a direct worker's counters.
import { describe, expect, it } from 'vitest';
import { Scoreboard } from './direct-scoreboard.ts';
import type { FcgiRequest } from './fcgi-connection.ts';

function request(uri: string): FcgiRequest {
  const pairs = new Map([['REQUEST_METHOD', Buffer.from('GET')], ['REQUEST_URI', Buffer.from(uri)], ['SCRIPT_FILENAME', Buffer.from('/srv/app')]]);
  return { pairs } as unknown as FcgiRequest;
}

describe('Scoreboard', () => {
  it('counts requests, lists those running with their age, and keeps the last one', () => {
    let now = 1000;
    const board = new Scoreboard(() => now);
    board.accepted = 2;
    const a = {};
    const b = {};
    board.started(a, request('/a'));
    now = 1010;
    board.started(b, request('/b'));
    now = 1050;
    expect(board.state()).toEqual({
      type: 'state', accepted: 2, requests: 0,
      active: [{ elapsedMs: 50, method: 'GET', uri: '/a', script: '/srv/app' }, { elapsedMs: 40, method: 'GET', uri: '/b', script: '/srv/app' }],
    });
    expect(board.ended(a)).toBe(1);
    expect(board.activeCount).toBe(1);
    expect(board.state().last).toEqual({ method: 'GET', uri: '/a', script: '/srv/app', durationMs: 50 });
  });
});
