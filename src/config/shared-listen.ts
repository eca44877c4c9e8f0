// This file implements the rule for pools that share a listen address from the perspective of
// the supervisor, which opens one socket per address: the pools on it must agree on how it is
// opened (`listen.backlog`, and `listen.mode` for a unix socket).

import type { ConfigError } from '../errors.ts';
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

/**
 * The problems of pools sharing a listen address with an earlier pool but disagreeing with it
 * on `listen.backlog` or (unix sockets only) `listen.mode`.
 *
 * @param file - absolute path of the config file, for messages.
 * @param pools - the pools in file order.
 */
export function sharedListenProblems(file: string, pools: readonly PoolConfig[]): ConfigError[] {
  const firstByAddress = new Map<string, PoolConfig>();
  const problems: ConfigError[] = [];
  for (const pool of pools) {
    const address = formatListenAddress(pool.listen.address);
    const first = firstByAddress.get(address);
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
    if (pool.listen.backlog !== first.listen.backlog) {
      problems.push(disagreement(file, pool, first, 'listen.backlog', (p) => String(p.listen.backlog)));
    }
  }
  return problems;
}
