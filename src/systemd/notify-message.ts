// This file implements the sd_notify messages from the perspective of systemd reading them:
// the `KEY=VALUE` assignments cgi-fpm sends at each step of its life (ready, reloading,
// stopping, watchdog) and the one-line `STATUS=` that `systemctl status` shows.
import type { DaemonStatus } from '../supervisor/status.ts';

/** One notification: `KEY=VALUE` assignments, sent together in one datagram. */
export type NotifyMessage = readonly string[];

/**
 * The `STATUS=` text: pools, workers busy / idle (and starting, and queued requests when
 * there are any), and requests per second since the last status.
 *
 * @param requestsPerSecond - accepted requests per second over the last interval.
 * @returns one line, e.g. `2 pools, workers: 1 busy, 3 idle; 12.5 req/s`.
 * @see PHP-FPM `fpm_systemd.c` ("Processes active: 0, idle: 2, Requests: 0, …")
 */
export function statusText(status: DaemonStatus, requestsPerSecond: number): string {
  let busy = 0;
  let idle = 0;
  let spawning = 0;
  let queued = 0;
  for (const pool of status.pools) {
    busy += pool.busy;
    idle += pool.idle;
    spawning += pool.spawning;
    queued += pool.queueLength;
  }
  const pools = `${status.pools.length} ${status.pools.length === 1 ? 'pool' : 'pools'}`;
  const workers = [`${busy} busy`, `${idle} idle`, ...(spawning > 0 ? [`${spawning} starting`] : [])].join(
    ', ',
  );
  const queue = queued > 0 ? `, ${queued} queued` : '';
  return `${pools}, workers: ${workers}${queue}; ${requestsPerSecond.toFixed(1)} req/s`;
}

/** A status line as an assignment: systemd takes the text up to the end of the line. */
function status(text: string): string {
  return `STATUS=${text.replace(/[\r\n]+/g, ' ')}`;
}

/** Startup done, and after a reload: serving. */
export function readyMessage(text: string): NotifyMessage {
  return ['READY=1', status(text)];
}

/** The periodic status refresh. */
export function statusMessage(text: string): NotifyMessage {
  return [status(text)];
}

/**
 * A reload began. `MONOTONIC_USEC` (CLOCK_MONOTONIC, µs) lets systemd ≥ 253 tell this reload
 * from an earlier one (`Type=notify-reload`); older ones ignore it.
 * @see sd_notify(3) `RELOADING=1`
 */
export function reloadingMessage(monotonicUsec: bigint): NotifyMessage {
  return ['RELOADING=1', `MONOTONIC_USEC=${monotonicUsec}`, status('reloading the config')];
}

/** A graceful stop began: requests in flight finish, then the workers exit. */
export function stoppingMessage(): NotifyMessage {
  return ['STOPPING=1', status('stopping: finishing requests in flight')];
}

/** The watchdog ping: the event loop is turning. */
export function watchdogMessage(): NotifyMessage {
  return ['WATCHDOG=1'];
}
