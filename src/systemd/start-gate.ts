// This file implements the start-up readiness rule from the perspective of a service manager
// that must not be told READY=1 while a pool cannot serve: the daemon is ready only once every
// pool has its initial workers running (all `pm.max_children` for static, `pm.start_servers`
// for dynamic, none for ondemand); until then the `STATUS=` line names each pool short of them
// and why (the crash backoff's last failure).
import type { DaemonStatus } from '../supervisor/status.ts';

/**
 * How long `cgi-fpm start` waits for every pool's initial workers when a service manager waits
 * for readiness (`NOTIFY_SOCKET`, `--notify-fd`), in milliseconds; then it gives up and exits.
 * Below systemd's default `TimeoutStartSec` (90 s), so the daemon says why before systemd
 * kills it.
 */
export const DEFAULT_READY_TIMEOUT_MS = 60_000;

/** A pool without its initial workers. */
export interface PoolShortfall {
  /** The pool's name. */
  readonly pool: string;
  /** Workers running (idle or busy). */
  readonly running: number;
  /** Workers it starts with. */
  readonly wanted: number;
  /** Why its last worker failed to start, if one did (`backoff.lastFailure`). */
  readonly cause?: string;
}

/**
 * The pools that have fewer workers running than they start with.
 *
 * @param status - the daemon's status (`Supervisor.status()`).
 * @param wanted - initial workers by pool name (`initialWorkers(pool.pm)`); a pool not in the
 *   map wants none.
 * @returns the short pools, in status order; empty when the daemon is ready.
 */
export function poolShortfalls(status: DaemonStatus, wanted: ReadonlyMap<string, number>): PoolShortfall[] {
  const short: PoolShortfall[] = [];
  for (const pool of status.pools) {
    const want = wanted.get(pool.name) ?? 0;
    const running = pool.idle + pool.busy;
    if (running >= want) continue;
    const cause = pool.backoff.lastFailure;
    short.push({ pool: pool.name, running, wanted: want, ...(cause === undefined ? {} : { cause }) });
  }
  return short;
}

/**
 * The `STATUS=` line while pools are short: `degraded: pool "api": 0 of 2 workers running
 * (runtime: handler: …); 1 of 2 pools ready, waiting up to 60s`.
 *
 * @param totalPools - how many pools the daemon runs.
 * @param waitMs - the bound on the wait, if any, in milliseconds.
 */
export function degradedText(short: readonly PoolShortfall[], totalPools: number, waitMs: number | undefined): string {
  const pools = short.map((s) => {
    const cause = s.cause === undefined ? '' : ` (${s.cause})`;
    return `pool ${JSON.stringify(s.pool)}: ${s.running} of ${s.wanted} workers running${cause}`;
  });
  const wait = waitMs === undefined ? 'waiting' : `waiting up to ${Math.ceil(waitMs / 1000)}s`;
  return `degraded: ${pools.join('; ')}; ${totalPools - short.length} of ${totalPools} pools ready, ${wait}`;
}
