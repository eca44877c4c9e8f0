// This file implements the tests of management-values.ts from the perspective of a web server
// asking FCGI_GET_VALUES: the answers are what the listener's pools really take.
import { describe, expect, it } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import { listenerLimits } from './management-values.ts';

describe('listenerLimits', () => {
  const exec = testPoolConfig({ name: 'a', pm: { ...testPoolConfig().pm, maxChildren: 4 }, queue: { max: 64, timeoutMs: 1000 } });
  const handler = testPoolConfig({
    name: 'b', runtime: 'handler', pm: { ...testPoolConfig().pm, maxChildren: 2 }, queue: { max: 0, timeoutMs: 1000 },
    handler: { ...testPoolConfig().handler, concurrency: 8 },
  });

  it('reports the pools’ capacity (channels + queue) as FCGI_MAX_REQS and multiplexes up to it', () => {
    expect(listenerLimits([exec, handler])).toEqual({
      values: { FCGI_MAX_REQS: String(4 + 64 + 2 * 8), FCGI_MPXS_CONNS: '1' },
      maxRequestsPerConnection: 4 + 64 + 2 * 8,
    });
  });

  it('one request per connection and FCGI_MPXS_CONNS=0 when listen.mpxs_conns = false', () => {
    const off = { ...exec, listen: { ...exec.listen, mpxsConns: false } };
    expect(listenerLimits([off])).toEqual({ values: { FCGI_MAX_REQS: '68', FCGI_MPXS_CONNS: '0' }, maxRequestsPerConnection: 1 });
  });

  it('FCGI_MAX_CONNS only when connections are bounded; a parked listener takes one request', () => {
    expect(listenerLimits([exec], 50).values.FCGI_MAX_CONNS).toBe('50');
    expect(listenerLimits([])).toEqual({ values: { FCGI_MAX_REQS: '1', FCGI_MPXS_CONNS: '0' }, maxRequestsPerConnection: 1 });
  });
});
