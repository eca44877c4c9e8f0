// This file implements the rules for sockets that share a path from the perspective of the
// supervisor, which opens one socket per address: the pools on it must agree on how it is
// opened (`listen.backlog`, `listen.allowed_clients`, `listen.mpxs_conns`; `listen.mode`, `listen.owner`, `listen.group` for a unix socket),
// and the control socket cannot be one of them.

import type { ConfigError } from '../errors.ts';
import { formatClientRange } from './allowed-clients.ts';
import { formatListenAddress, formatSocketMode } from './listen.ts';
import { configProblem } from './problems.ts';
import type { PoolConfig } from './schema.ts';

function disagreement(
  file: string,
  pool: PoolConfig,
  first: PoolConfig,
  key: string,
  show: (p: PoolConfig) => string,
): ConfigError {
  const address = formatListenAddress(pool.listen.address);
  const detail = `${key} must equal that of pool ${JSON.stringify(first.name)}, which shares listen "${address}" with ${show(first)}, got ${show(pool)}`;
  return configProblem(file, detail, { pool: pool.name, key });
}

/** `listen.owner` and `listen.group` of a unix socket shared with `first`. */
function ownerProblems(file: string, pool: PoolConfig, first: PoolConfig): ConfigError[] {
  const show = (id: number | undefined): string => (id === undefined ? "the daemon's" : String(id));
  const problems: ConfigError[] = [];
  if (pool.listen.owner !== first.listen.owner)
    problems.push(disagreement(file, pool, first, 'listen.owner', (p) => show(p.listen.owner)));
  if (pool.listen.group !== first.listen.group)
    problems.push(disagreement(file, pool, first, 'listen.group', (p) => show(p.listen.group)));
  return problems;
}

/**
 * The problems of pools sharing a listen address with an earlier pool but disagreeing with it
 * on `listen.backlog`, `listen.max_connections` or (unix sockets only) `listen.mode`, `listen.owner`, `listen.group`.
 *
 * @param file - absolute path of the config file, for messages.
 * @param pools - the pools in file order.
 */
export function sharedListenProblems(file: string, pools: readonly PoolConfig[]): ConfigError[] {
  const firstByAddress = new Map<string, PoolConfig>();
  const problems: ConfigError[] = [];
  for (const pool of pools) {
    const address = formatListenAddress(pool.listen.address);
    if (pool.listen.address.kind === 'unix' && pool.listen.allowedClients !== undefined) {
      problems.push(configProblem(file, `listen.allowed_clients applies to TCP listeners; "${address}" is a unix socket (guard it with listen.mode, listen.owner, listen.group)`, { pool: pool.name, key: 'listen.allowed_clients' }));
    }
    const first = firstByAddress.get(address);
    const direct = pool.dispatch === 'direct' ? pool : first?.dispatch === 'direct' ? first : undefined;
    if (first !== undefined && direct !== undefined) {
      problems.push(configProblem(file, `pool ${JSON.stringify(direct.name)} has dispatch = "direct": its workers accept on "${address}" themselves, so no other pool can share it (give each pool its own listen)`, { pool: pool.name, key: 'listen' }));
      continue;
    }
    if (first === undefined) {
      firstByAddress.set(address, pool);
      continue;
    }
    if (pool.listen.address.kind === 'unix' && pool.listen.mode !== first.listen.mode) {
      problems.push(
        disagreement(file, pool, first, 'listen.mode', (p) =>
          JSON.stringify(formatSocketMode(p.listen.mode)),
        ),
      );
    }
    if (pool.listen.address.kind === 'unix') problems.push(...ownerProblems(file, pool, first));
    if (pool.listen.backlog !== first.listen.backlog) {
      problems.push(disagreement(file, pool, first, 'listen.backlog', (p) => String(p.listen.backlog)));
    }
    if (pool.listen.maxConnections !== first.listen.maxConnections) {
      problems.push(disagreement(file, pool, first, 'listen.max_connections', (p) => String(p.listen.maxConnections)));
    }
    const clients = (p: PoolConfig): string => (p.listen.allowedClients === undefined ? 'any' : JSON.stringify(p.listen.allowedClients.map(formatClientRange)));
    if (clients(pool) !== clients(first)) problems.push(disagreement(file, pool, first, 'listen.allowed_clients', clients));
    if (pool.listen.mpxsConns !== first.listen.mpxsConns) {
      problems.push(disagreement(file, pool, first, 'listen.mpxs_conns', (p) => String(p.listen.mpxsConns)));
    }
  }
  return problems;
}

/**
 * The problem of a `control_socket` that is also a pool's `listen` path: whichever socket the
 * daemon opened second would replace the first (a stale socket file is removed before binding).
 *
 * @param file - absolute path of the config file, for messages.
 * @param controlSocket - the absolute control socket path, if any.
 * @param pools - the pools in file order.
 */
export function controlSocketProblems(
  file: string,
  controlSocket: string | undefined,
  pools: readonly PoolConfig[],
): ConfigError[] {
  if (controlSocket === undefined) return [];
  const pool = pools.find((p) => p.listen.address.kind === 'unix' && p.listen.address.path === controlSocket);
  if (pool === undefined) return [];
  const detail = `global.control_socket must differ from every pool's listen path, got ${JSON.stringify(controlSocket)}, which pool ${JSON.stringify(pool.name)} listens on`;
  return [configProblem(file, detail, { key: 'global.control_socket' })];
}
