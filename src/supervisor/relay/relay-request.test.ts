// This file implements the tests of relay-request.ts from the perspective of the request's life:
// the transition table is total (every state and event), only allowed moves happen, STDIN is held
// until a worker takes the request and then forwarded, and what goes back is relabelled.
import { describe, expect, it } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import { NameValueDecoder } from '../../fastcgi/name-value.ts';
import { MAX_HELD_BYTES, nextState, RelayRequest, type RelayEvent, type RelayState, type RequestHandler } from './relay-request.ts';

const STATES: RelayState[] = ['params', 'routing', 'queued', 'active', 'aborting', 'releasing', 'finished'];
const EVENTS: RelayEvent[] = ['routing', 'queued', 'assigned', 'aborted', 'answered', 'ended', 'ending', 'released'];

/** [state, event, next] for every allowed move; every other pair is ignored. */
const MOVES: [RelayState, RelayEvent, RelayState][] = [
  ['params', 'routing', 'routing'], ['params', 'aborted', 'finished'], ['params', 'answered', 'finished'],
  ['routing', 'queued', 'queued'], ['routing', 'assigned', 'active'], ['routing', 'aborted', 'finished'], ['routing', 'answered', 'finished'],
  ['queued', 'routing', 'routing'], ['queued', 'queued', 'queued'], ['queued', 'assigned', 'active'], ['queued', 'aborted', 'finished'], ['queued', 'answered', 'finished'],
  ['active', 'aborted', 'aborting'], ['active', 'answered', 'finished'], ['active', 'ended', 'finished'],
  ['aborting', 'answered', 'finished'], ['aborting', 'ended', 'finished'],
  ['active', 'ending', 'releasing'],
  ['releasing', 'released', 'finished'], ['releasing', 'aborted', 'finished'], ['releasing', 'answered', 'finished'],
];

function handler(): RequestHandler & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    write: (buffers) => { log.push(`write ${Buffer.concat(buffers).toString('hex')}`); return true; },
    cork: () => undefined, uncork: () => undefined, onDrain: () => undefined,
    pauseInput: () => log.push('pause'), resumeInput: () => log.push('resume'),
    finished: (r) => log.push(`finished ${r.requestId}`),
    answer: (r, status, _page, headersSent) => log.push(`answer ${r.requestId} ${status} ${headersSent}`),
    reroute: (r) => log.push(`reroute ${r.requestId}`),
  };
}

function routed(h: RequestHandler): RelayRequest {
  const request = new RelayRequest(3, true, h, 0);
  request.routing(new NameValueDecoder().finish());
  request.routed({ pool: testPoolConfig(), scriptFilename: Buffer.from('/srv/a'), pathInfo: Buffer.alloc(0) });
  return request;
}

describe('nextState', () => {
  it('allows exactly the listed moves, from every state and event', () => {
    for (const state of STATES) {
      for (const event of EVENTS) {
        const move = MOVES.find(([s, e]) => s === state && e === event);
        expect(nextState(state, event), `${state} + ${event}`).toBe(move?.[2]);
      }
    }
  });
});

describe('RelayRequest', () => {
  it('holds STDIN until a worker takes it (pausing the web server past 64 KiB), then forwards it', () => {
    const h = handler();
    const request = routed(h);
    request.stdin(Buffer.alloc(MAX_HELD_BYTES));
    request.stdin(Buffer.from('x'));
    expect(h.log).toEqual(['pause']);
    const sent: string[] = [];
    const held = request.assign({ stdin: (c) => sent.push(c.toString()), abort: () => sent.push('abort') });
    expect(held?.map((b) => b.length)).toEqual([MAX_HELD_BYTES, 1]);
    request.stdin(Buffer.from('live'));
    expect(request.abort()).toBe('active');
    request.stdin(Buffer.from('dropped'));
    expect(sent).toEqual(['live', 'abort']);
    expect(request.state).toBe('aborting');
  });

  it('relabels what the worker sends and ends once, counting STDOUT bytes', () => {
    const h = handler();
    const request = routed(h);
    request.assign({ stdin: () => undefined, abort: () => undefined });
    request.stdin(Buffer.alloc(0)); // the body ended: output goes straight out
    request.output(6, Buffer.from('hi'));
    request.ended(Buffer.alloc(8));
    request.ended(Buffer.alloc(8));
    request.answer(502, Buffer.from('late'));
    expect(h.log).toEqual([
      'write 0106000300020600' + '6869' + '000000000000',
      'write 0103000300080000' + '0000000000000000',
      'finished 3',
    ]);
    expect([request.state, request.stdoutBytes]).toEqual(['finished', 2]);
  });

  it('answers once, saying whether the head already went out; a queued abort reports "queued"', () => {
    const h = handler();
    const running = routed(h);
    running.assign({ stdin: () => undefined, abort: () => undefined });
    running.stdin(Buffer.alloc(0));
    running.output(6, Buffer.from('Status: 200\r\n\r\n'));
    running.answer(502, Buffer.from('page'));
    running.answer(504, Buffer.from('page'));
    expect(h.log.filter((line) => line.startsWith('answer'))).toEqual(['answer 3 502 true']);
    const queued = routed(h);
    queued.queue(1234);
    expect([queued.state, queued.queuedAtMs]).toEqual(['queued', 1234]);
    expect(queued.abort()).toBe('queued');
    expect(queued.assign({ stdin: () => undefined, abort: () => undefined })).toBeUndefined();
    expect(queued.state).toBe('finished');
  });

  it('cannot be assigned before it is routed', () => {
    const request = new RelayRequest(1, false, handler(), 0);
    request.routing(new NameValueDecoder().finish());
    expect(request.assign({ stdin: () => undefined, abort: () => undefined })).toBeUndefined();
    expect(request.state).toBe('routing');
  });
});
