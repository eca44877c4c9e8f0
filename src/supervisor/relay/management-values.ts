// This file implements the FastCGI management values (`FCGI_GET_VALUES`, spec §4.1) from the
// perspective of a web server asking a listener what it may do: whether it may multiplex and
// how many requests the listener's pools take at once. The values are the truth of the config:
// nothing is promised that the supervisor would then refuse.
import type { PoolConfig } from '../../config/schema.ts';
import { channelCount } from '../../worker/ipc.ts';

/** What one listener tells web servers, and how many requests one of its connections may carry. */
export interface ListenerLimits {
  /** `FCGI_GET_VALUES` answers (`FCGI_MPXS_CONNS`, `FCGI_MAX_REQS`, and `FCGI_MAX_CONNS` when bounded). */
  readonly values: Readonly<Record<string, string>>;
  /** Requests one connection may have in flight at once (1 without multiplexing). */
  readonly maxRequestsPerConnection: number;
}

/**
 * The limits of a listener shared by `group` (in config order; empty for a parked listener).
 *
 * - `FCGI_MAX_REQS`: the requests the pools take at once, running or waiting: the sum of each
 *   pool's channels (`pm.max_children`, × `handler.concurrency` for a handler pool) and
 *   `queue.max`; one more is answered 503 by its pool. HAProxy reads it (with `option
 *   get-values`) as the most streams it puts on one connection, so a multiplexed connection
 *   takes that many too.
 * - `FCGI_MPXS_CONNS`: `1` unless `listen.mpxs_conns = false`.
 * - `FCGI_MAX_CONNS`: given only when a bound on connections is configured (`maxConnections`);
 *   the spec lets an application leave out what it does not limit.
 *
 * @param maxConnections - the listener's bound on connections at once, if any
 * @see FastCGI spec §4.1
 */
export function listenerLimits(group: readonly PoolConfig[], maxConnections?: number): ListenerLimits {
  const maxReqs = Math.max(1, group.reduce((n, p) => n + p.pm.maxChildren * channelCount(p) + p.queue.max, 0));
  const mpxs = group[0]?.listen.mpxsConns ?? false;
  const values: Record<string, string> = { FCGI_MAX_REQS: String(maxReqs), FCGI_MPXS_CONNS: mpxs ? '1' : '0' };
  if (maxConnections !== undefined) values.FCGI_MAX_CONNS = String(maxConnections);
  return { values, maxRequestsPerConnection: mpxs ? maxReqs : 1 };
}
