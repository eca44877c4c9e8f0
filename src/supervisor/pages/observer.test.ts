// This file implements the tests of observer.ts from the perspective of a load balancer's
// health check and of the access log: `ping.path` answers `ping.response`, 503 while the daemon
// drains (issue 15 sets `draining`), a path that is no page goes on to the router, and each
// answered request is written once to its pool's access log.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import type { PoolConfig } from '../../config/schema.ts';
import { encodeNameValuePairs, NameValueDecoder } from '../../fastcgi/name-value.ts';
import type { LogFiles } from '../../log/log-files.ts';
import { RelayRequest, type RequestHandler } from '../relay/relay-request.ts';
import { ListenerObserver, type ObserverDeps } from './observer.ts';

const POOL: PoolConfig = {
  ...testPoolConfig(),
  status: { path: '/status', pingPath: '/ping', pingResponse: 'alive', listen: undefined },
  access: { log: '/logs/access.log', format: '%n "%m %r" %s %f' },
};

function setUp(draining: boolean) {
  const answers: { status: number; page: string }[] = [];
  const written: string[] = [];
  const handler: RequestHandler = {
    write: () => true, cork: () => undefined, uncork: () => undefined, onDrain: () => undefined,
    pauseInput: () => undefined, resumeInput: () => undefined, finished: () => undefined, reroute: () => undefined,
    answer: (r, status, page) => {
      answers.push({ status, page: page.toString() });
      observer.ended(r);
    },
  };
  const deps: ObserverDeps = {
    pool: () => undefined, draining: () => draining, now: () => 1000, log: pino({ level: 'silent' }), pid: 1,
    files: { write: (path: string, text: string) => { written.push(`${path}: ${text}`); } } as unknown as LogFiles,
    attributed: new WeakMap(),
  };
  const observer = new ListenerObserver([POOL], deps);
  const ask = (scriptName: string): boolean => {
    const decoder = new NameValueDecoder();
    decoder.push(encodeNameValuePairs([['SCRIPT_NAME', scriptName], ['REQUEST_METHOD', 'GET'], ['REQUEST_URI', scriptName]]));
    const params = decoder.finish();
    const request = new RelayRequest(1, false, handler, 0);
    request.routing(params);
    return observer.answer(request, params);
  };
  return { answers, written, ask };
}

describe('ListenerObserver', () => {
  it('answers ping.response, and logs it under the pool', () => {
    const { answers, written, ask } = setUp(false);
    expect(ask('/ping')).toBe(true);
    expect(answers).toHaveLength(1);
    expect(answers[0]?.status).toBe(200);
    expect(answers[0]?.page).toMatch(/^Status: 200 OK\r\nContent-Type: text\/plain\r\n[^]*\r\n\r\nalive$/);
    expect(written).toEqual(['/logs/access.log: test "GET /ping" 200 /ping\n']);
  });

  it('answers 503 to ping while draining', () => {
    const { answers, ask } = setUp(true);
    expect(ask('/ping')).toBe(true);
    expect(answers[0]?.status).toBe(503);
    expect(answers[0]?.page).toContain('Retry-After: 1');
  });

  it('leaves other paths to the router', () => {
    const { answers, ask } = setUp(false);
    expect(ask('/ping.sh')).toBe(false);
    expect(ask('/')).toBe(false);
    expect(answers).toEqual([]);
  });
});
