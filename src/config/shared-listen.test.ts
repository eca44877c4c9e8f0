// This file implements the tests of shared-listen.ts from the perspective of an operator who
// puts several pools behind one socket.

import { describe, expect, it } from 'vitest';
import type { ListenAddress, PoolConfig } from './schema.ts';
import { parseAllowedClients } from './allowed-clients.ts';
import { sharedListenProblems } from './shared-listen.ts';
import { testPoolConfig } from './pool-config-test-peer.ts';

const FILE = '/etc/x.toml';

function pool(name: string, address: ListenAddress, mode = 0o660, backlog = 511): PoolConfig {
  return testPoolConfig({ name, listen: { address, mode, backlog, maxConnections: 1000, owner: undefined, group: undefined, allowedClients: undefined, mpxsConns: true } });
}

const unix = { kind: 'unix', path: '/run/a.sock' } as const;
const tcp = { kind: 'tcp', host: '127.0.0.1', port: 9000 } as const;

describe('sharedListenProblems', () => {
  it('accepts pools that agree, and pools on different addresses', () => {
    expect(sharedListenProblems(FILE, [pool('a', unix), pool('b', unix), pool('c', tcp, 0o600, 1)])).toEqual(
      [],
    );
  });

  it('ignores listen.mode for TCP', () => {
    expect(sharedListenProblems(FILE, [pool('a', tcp, 0o600), pool('b', tcp)])).toEqual([]);
  });

  it('names the pool, the key, the first pool and both values', () => {
    const problems = sharedListenProblems(FILE, [
      pool('a', unix),
      pool('b', unix, 0o600, 10),
      pool('c', tcp),
      pool('d', tcp, 0o660, 5),
    ]);
    expect(problems.map((p) => [p.pool, p.key, p.message])).toEqual([
      [
        'b',
        'listen.mode',
        'config: /etc/x.toml: pool "b": listen.mode must equal that of pool "a", which shares listen "unix:/run/a.sock" with "0660", got "0600"',
      ],
      [
        'b',
        'listen.backlog',
        'config: /etc/x.toml: pool "b": listen.backlog must equal that of pool "a", which shares listen "unix:/run/a.sock" with 511, got 10',
      ],
      [
        'd',
        'listen.backlog',
        'config: /etc/x.toml: pool "d": listen.backlog must equal that of pool "c", which shares listen "127.0.0.1:9000" with 511, got 5',
      ],
    ]);
  });

  it('wants listen.owner and listen.group to agree on a shared unix socket, not on TCP', () => {
    const owned = (name: string, address: ListenAddress, owner?: number, group?: number): PoolConfig =>
      testPoolConfig({ name, listen: { address, mode: 0o660, backlog: 511, maxConnections: 1000, owner, group, allowedClients: undefined, mpxsConns: true } });
    const problems = sharedListenProblems(FILE, [
      owned('a', unix, 33, 33),
      owned('b', unix, 33),
      owned('c', unix, undefined, 33),
      owned('d', tcp, 1, 1),
      owned('e', tcp),
    ]);
    expect(problems.map((p) => [p.pool, p.key, p.message])).toEqual([
      [
        'b',
        'listen.group',
        `config: /etc/x.toml: pool "b": listen.group must equal that of pool "a", which shares listen "unix:/run/a.sock" with 33, got the daemon's`,
      ],
      [
        'c',
        'listen.owner',
        `config: /etc/x.toml: pool "c": listen.owner must equal that of pool "a", which shares listen "unix:/run/a.sock" with 33, got the daemon's`,
      ],
    ]);
  });

  it('wants listen.allowed_clients and listen.mpxs_conns to agree, and allowed_clients only on TCP', () => {
    const base = testPoolConfig().listen;
    const withClients = (name: string, address: ListenAddress, clients: string[] | undefined, mpxsConns = true): PoolConfig =>
      testPoolConfig({ name, listen: { ...base, address, mpxsConns, allowedClients: clients === undefined ? undefined : parseAllowedClients(clients) } });
    const problems = sharedListenProblems(FILE, [
      withClients('a', tcp, ['10.0.0.0/8']),
      withClients('b', tcp, ['10.0.0.0/8']),
      withClients('c', tcp, undefined, false),
      withClients('d', unix, ['::1']),
    ]);
    expect(problems.map((p) => [p.pool, p.key, p.message])).toEqual([
      ['c', 'listen.allowed_clients', 'config: /etc/x.toml: pool "c": listen.allowed_clients must equal that of pool "a", which shares listen "127.0.0.1:9000" with ["10.0.0.0/8"], got any'],
      ['c', 'listen.mpxs_conns', 'config: /etc/x.toml: pool "c": listen.mpxs_conns must equal that of pool "a", which shares listen "127.0.0.1:9000" with true, got false'],
      ['d', 'listen.allowed_clients', 'config: /etc/x.toml: pool "d": listen.allowed_clients applies to TCP listeners; "unix:/run/a.sock" is a unix socket (guard it with listen.mode, listen.owner, listen.group)'],
    ]);
  });
});
