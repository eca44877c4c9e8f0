// This file implements the per-listener connection limit from the perspective of a listening
// socket under a flood: at most `listen.max_connections` connections open at once (what
// FCGI_GET_VALUES advertises as FCGI_MAX_CONNS), the next one closed as soon as it is accepted
// (Node's `server.maxConnections` and its 'drop' event), and an accept that fails (EMFILE at
// the fd limit: libuv accepts and closes the connection with its reserved fd) logged instead
// of thrown, each at most once per second. Before, nothing bounded the connections (2,500 idle
// ones were held for ever) and an accept error had no listener: the supervisor would exit.
import type { Server } from 'node:net';
import type { Logger } from '../../log/logger.ts';
import { RateLimitedLog } from '../../log/rate-limited.ts';

/** A listener's guard; its limit can change on reload. */
export interface ListenerGuard {
  /** Sets the limit (`listen.max_connections`) for connections accepted from now on. */
  setMaxConnections(maxConnections: number): void;
}

/**
 * Bounds `server`'s open connections and catches its accept errors, logging both at most once
 * per second (`connection refused` with `listen.max_connections`, `accept failed` with the
 * error), with a `count` of the occurrences the line stands for.
 *
 * @param address - the listener's address as written in the config, for the log
 * @param maxConnections - `listen.max_connections` (≥ 1)
 * @see FastCGI 1.0 §4.1 `FCGI_MAX_CONNS`; Node.js `net.Server.maxConnections`, event 'drop'
 */
export function guardListener(server: Server, address: string, maxConnections: number, log: Logger,
  now: () => number): ListenerGuard {
  const refused = new RateLimitedLog(log, 'warn', 'connection refused', now);
  const failed = new RateLimitedLog(log, 'error', 'accept failed', now);
  let max = maxConnections;
  server.maxConnections = max;
  server.on('drop', () => { refused.note({ listen: address, reason: 'listen.max_connections reached', maxConnections: max }); });
  server.on('error', (err: NodeJS.ErrnoException) => { failed.note({ listen: address, code: err.code, err: err.message }); });
  return {
    setMaxConnections(value: number): void {
      max = value;
      server.maxConnections = value;
    },
  };
}
