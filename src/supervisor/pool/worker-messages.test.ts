// This file implements the tests of worker-messages.ts from the perspective of a worker whose
// script forges control messages: each is data, coerced, and unknown ones do nothing.
import { describe, expect, it } from 'vitest';
import { readWorkerMessage, type WorkerMessageActions } from './worker-messages.ts';

function record(): { actions: WorkerMessageActions; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const actions: WorkerMessageActions = {
    ready: () => calls.push(['ready']),
    cgiGroup: (claim) => calls.push(['cgiGroup', claim]),
    recycle: (reason, rss) => calls.push(['recycle', reason, rss]),
    stack: (message) => calls.push(['stack', message]),
    startFailed: (message) => calls.push(['startFailed', message]),
    state: (message) => calls.push(['state', message]),
  };
  return { actions, calls };
}

describe('readWorkerMessage', () => {
  it('hands each known type to its action, fields coerced', () => {
    const { actions, calls } = record();
    for (const m of [
      { type: 'ready' },
      { type: 'cgi-group', requestId: 1, pgid: 42 },
      { type: 'recycle', reason: 'max_memory', rssBytes: 5 },
      { type: 'recycle', reason: { x: 1 }, rssBytes: '5' },
      { type: 'stack', resources: ['Timeout'] },
      { type: 'start-failed', message: 7 },
    ]) readWorkerMessage(m, actions);
    expect(calls).toEqual([
      ['ready'],
      ['cgiGroup', { type: 'cgi-group', requestId: 1, pgid: 42 }],
      ['recycle', 'max_memory', 5],
      ['recycle', '[object Object]', 0],
      ['stack', { type: 'stack', resources: ['Timeout'] }],
      ['startFailed', '7'],
    ]);
  });

  it('ignores what has no known type', () => {
    const { actions, calls } = record();
    for (const m of [null, 1, 'ready', {}, { type: 'stop' }, { type: 7 }]) readWorkerMessage(m, actions);
    expect(calls).toEqual([]);
  });
});

describe('readWorkerMessage: a direct worker\'s state', () => {
  it('hands the whole state answer to its action (direct-watch.ts bounds it)', () => {
    const { actions, calls } = record();
    const state = { type: 'state', accepted: 3, requests: 2, active: [] };
    readWorkerMessage(state, actions);
    expect(calls).toEqual([['state', state]]);
  });
});
