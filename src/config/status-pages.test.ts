// This file implements the tests of status-pages.ts from the perspective of an operator adding
// status and ping pages to pools that share a socket: clashes are refused with the pool and key.
import { describe, expect, it } from 'vitest';
import { testPoolConfig } from './pool-config-test-peer.ts';
import type { PoolConfig } from './schema.ts';
import { poolPagePaths, statusPageProblems } from './status-pages.ts';

function pool(name: string, status: Partial<PoolConfig['status']>, listen = '/run/a.sock'): PoolConfig {
  const base = testPoolConfig({ name });
  return {
    ...base,
    listen: { ...base.listen, address: { kind: 'unix', path: listen } },
    status: { ...base.status, ...status },
  };
}

const messages = (pools: PoolConfig[]): string[] => statusPageProblems('/etc/cgi-fpm.toml', pools).map((e) => e.message);

describe('statusPageProblems', () => {
  it('accepts each pool its own paths on a shared socket, and a status address of its own', () => {
    expect(messages([
      pool('a', { path: '/status', pingPath: '/ping', listen: { kind: 'tcp', host: '127.0.0.1', port: 9101 } }),
      pool('b', { path: '/status-b' }),
    ])).toEqual([]);
    expect(poolPagePaths(pool('a', { path: '/status', pingPath: '/ping' }))).toEqual(['/ping', '/status']);
  });

  it('refuses the same path twice in a pool and in pools sharing a socket', () => {
    expect(messages([pool('a', { path: '/s', pingPath: '/s' })])).toEqual([
      expect.stringMatching(/pool "a": ping.path must differ from pm.status_path, both are "\/s"/),
    ]);
    expect(messages([pool('a', { path: '/status' }), pool('b', { path: '/status' })])).toEqual([
      expect.stringMatching(/pool "b": "\/status" is already answered by pool "a", which shares listen "unix:\/run\/a.sock"/),
    ]);
    expect(messages([pool('a', { path: '/status' }), pool('b', { path: '/status' }, '/run/b.sock')])).toEqual([]);
  });

  it('refuses a status address that is a listen, another status address, or has no page', () => {
    const tcp = { kind: 'tcp', host: '127.0.0.1', port: 9101 } as const;
    expect(messages([pool('a', { path: '/s', listen: { kind: 'unix', path: '/run/b.sock' } }), pool('b', {}, '/run/b.sock')])).toEqual([
      expect.stringMatching(/pool "a": pm.status_listen must be an address of its own, got "unix:\/run\/b.sock", which pool "b" listens on/),
    ]);
    expect(messages([pool('a', { path: '/s', listen: tcp }), pool('b', { path: '/s', listen: tcp }, '/run/b.sock')])).toEqual([
      expect.stringMatching(/pool "b": pm.status_listen must be an address of its own, got "127.0.0.1:9101", which pool "a"/),
    ]);
    expect(messages([pool('a', { listen: tcp })])).toEqual([expect.stringMatching(/needs pm.status_path or ping.path/)]);
  });
});
