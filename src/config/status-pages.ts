// This file implements the rules for the pages the supervisor answers itself (`pm.status_path`,
// `ping.path`, `pm.status_listen`) from the perspective of a listener that must know which pool
// a `SCRIPT_NAME` belongs to: within a pool the two paths differ, pools sharing a listener do
// not claim the same path, and a status address is no other socket.

import type { ConfigError } from '../errors.ts';
import { formatListenAddress } from './listen.ts';
import { configProblem } from './problems.ts';
import type { PoolConfig } from './schema.ts';

/** The URI paths a pool answers itself (status first, as PHP-FPM checks ping first). */
export function poolPagePaths(pool: PoolConfig): string[] {
  return [pool.status.pingPath, pool.status.path].filter((p): p is string => p !== undefined);
}

/**
 * The problems of the pages of pools, in file order: `ping.path` equal to `pm.status_path`;
 * a path already claimed by an earlier pool on the same listener (the first would always
 * answer it); a `pm.status_listen` that is also a pool's `listen` or another pool's status
 * address.
 *
 * @param file - absolute path of the config file, for messages.
 * @param pools - the pools in file order.
 */
export function statusPageProblems(file: string, pools: readonly PoolConfig[]): ConfigError[] {
  const problems: ConfigError[] = [];
  const claimed = new Map<string, string>();
  const listens = new Map(pools.map((p) => [formatListenAddress(p.listen.address), p.name]));
  const statusListens = new Map<string, string>();
  for (const pool of pools) {
    const at = (key: string, detail: string): void => { problems.push(configProblem(file, detail, { pool: pool.name, key })); };
    const { path, pingPath, listen } = pool.status;
    if (path !== undefined && path === pingPath) at('ping.path', `ping.path must differ from pm.status_path, both are ${JSON.stringify(path)}`);
    const address = formatListenAddress(pool.listen.address);
    for (const page of poolPagePaths(pool)) {
      const key = `${address}\0${page}`;
      const owner = claimed.get(key);
      if (owner !== undefined && owner !== pool.name) {
        at(page === pingPath ? 'ping.path' : 'pm.status_path',
          `${JSON.stringify(page)} is already answered by pool ${JSON.stringify(owner)}, which shares listen "${address}"; give each pool its own path`);
      } else claimed.set(key, pool.name);
    }
    if (listen === undefined) continue;
    const text = formatListenAddress(listen);
    const other = listens.get(text) ?? statusListens.get(text);
    if (other !== undefined) {
      at('pm.status_listen', `pm.status_listen must be an address of its own, got "${text}", which pool ${JSON.stringify(other)} listens on`);
    }
    if (path === undefined && pingPath === undefined) {
      at('pm.status_listen', 'pm.status_listen needs pm.status_path or ping.path (the pages it answers)');
    }
    statusListens.set(text, pool.name);
  }
  return problems;
}
