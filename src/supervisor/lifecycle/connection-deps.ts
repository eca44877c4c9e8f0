// This file implements the making of a listener's ConnectionDeps from the perspective of the
// supervisor that opens (and on reload re-routes) each listener: its router, its GET_VALUES
// answers and multiplexing limit, timeouts, spill directory, request log line and page observer;
// the listener's line of the status, and the pools' log files opened at start.
import { tmpdir } from 'node:os';
import type { DaemonConfig, PoolConfig } from '../../config/schema.ts';
import { DaemonError, ErrorCode } from '../../errors.ts';
import type { LogFiles } from '../../log/log-files.ts';
import type { Logger } from '../../log/logger.ts';
import type { RateLimitedLog } from '../../log/rate-limited.ts';
import { ListenerObserver, type ObserverDeps } from '../pages/observer.ts';
import type { ConnectionCounters } from '../relay/connection-counters.ts';
import type { ConnectionDeps, RequestDispatch } from '../relay/connection-deps.ts';
import { listenerLimits } from '../relay/management-values.ts';
import type { RelayRequest } from '../relay/relay-request.ts';
import { Router } from '../relay/router.ts';
import type { ListenerStatus } from '../status.ts';
import type { OpenListener } from './reload.ts';

/** What the supervisor lends every listener's connections. */
export interface ListenerContext {
  /** The config in force (reloads replace it). */
  readonly config: () => DaemonConfig;
  readonly log: Logger;
  readonly now: () => number;
  readonly dispatch: RequestDispatch;
  /** Where a timed-out connection is noted (one line a second). */
  readonly timedOut: RateLimitedLog;
  readonly observer: ObserverDeps;
}

/** `listen.max_connections` of a listener (its pools agree on it; the first one's). */
export function maxConnections(group: readonly PoolConfig[]): number {
  return group[0]?.listen.maxConnections ?? 1000;
}

/** The deps of the connections of the listener shared by `group`. */
export function listenerConnectionDeps(
  group: readonly PoolConfig[],
  counters: ConnectionCounters,
  context: ListenerContext,
): ConnectionDeps {
  const limits = listenerLimits(group, maxConnections(group));
  const { config, log, now } = context;
  const logRequest = (request: RelayRequest, status: number, bytes: number): void => {
    log.info({
      pool: request.route?.pool.name, script: request.route?.scriptFilename.toString(), status, bytes,
      ms: now() - request.startedAtMs,
    }, 'request');
  };
  return {
    // Read when a request starts holding output: a reload's new value applies from then on.
    get tempPath() { return config().global.fastcgiTempPath ?? tmpdir(); },
    router: new Router(group),
    pools: context.dispatch,
    log,
    now,
    values: limits.values,
    maxRequests: limits.maxRequestsPerConnection,
    counters,
    logRequest,
    timeouts: config().global,
    timedOut: (key, timeoutMs) => { context.timedOut.note({ timeout: key, timeoutMs }); },
    observer: new ListenerObserver(group, context.observer),
  };
}

/** A listener's line in the daemon's status: its connections and requests so far. */
export function listenerStatus(listen: string, open: OpenListener): ListenerStatus {
  const c = open.deps.counters;
  return {
    listen, connections: c.open, acceptedConnections: c.accepted, refusedConnections: open.filter.refused,
    requests: c.requests, multiplexedRequests: c.multiplexed, maxConcurrentRequests: c.maxConcurrentRequests,
  };
}

/** Opens every `access.log` and `slowlog` of `pools`. @throws DaemonError `ERR_LOG_OPEN` */
export function openPoolLogFiles(files: LogFiles, pools: readonly PoolConfig[]): void {
  for (const pool of pools) {
    for (const [key, path] of [['access.log', pool.access.log], ['slowlog', pool.slowlog]] as const) {
      if (path === undefined) continue;
      try {
        files.open(path);
      } catch (err) {
        throw new DaemonError(ErrorCode.ERR_LOG_OPEN,
          `log: pool "${pool.name}": ${key}: cannot open ${path}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
