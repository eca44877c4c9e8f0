// This file implements the text of `cgi-fpm status` from the perspective of an operator used
// to PHP-FPM's status page: one aligned `name: value` block for the daemon, then one per pool,
// in FPM's words where cgi-fpm measures the same thing (accepted conn, idle processes, …).

import type { BackoffStatus, DaemonStatus, PoolStatus } from '../supervisor/status.ts';

/** `0.4ms`, `250ms`, `1.5s`, `59s`, then `1m 5s`, `1h 2m 3s`, `2d 3h 0m 1s`. */
export function formatMillis(ms: number): string {
  if (ms < 1000) return `${Number(ms.toFixed(1))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const total = Math.floor(ms / 1000);
  const parts = [
    [Math.floor(total / 86_400), 'd'],
    [Math.floor(total / 3600) % 24, 'h'],
    [Math.floor(total / 60) % 60, 'm'],
    [total % 60, 's'],
  ] as const;
  const first = parts.findIndex(([value]) => value > 0);
  return parts
    .slice(first)
    .map(([value, unit]) => `${value}${unit}`)
    .join(' ');
}

function backoffText(backoff: BackoffStatus): string {
  switch (backoff.state) {
    case 'none':
      return backoff.failures === 0 ? 'none' : `none (${backoff.failures} recent failures)`;
    case 'backing-off':
      return `backing off: next respawn in ${formatMillis(backoff.delayMs)} after ${backoff.failures} failures`;
  }
}

function poolRows(pool: PoolStatus): [string, string | number][] {
  const meanWaitMs = pool.accepted === 0 ? 0 : pool.totalQueueWaitMs / pool.accepted;
  return [
    ['pool', pool.name],
    ['process manager', pool.pm],
    ['runtime', pool.runtime],
    ['idle processes', pool.idle],
    ['active processes', pool.busy],
    ['spawning processes', pool.spawning],
    ['total processes', pool.idle + pool.busy + pool.spawning],
    ['max active processes', pool.maxActive],
    ['max children', pool.maxChildren],
    ['queue length', pool.queueLength],
    ['max queue length', pool.maxQueueLength],
    ['queue.max', pool.queueMax],
    ['queue wait max', formatMillis(pool.maxQueueWaitMs)],
    ['queue wait mean', formatMillis(meanWaitMs)],
    ['accepted conn', pool.accepted],
    ['overloaded (503)', pool.overloaded],
    ['max children reached', pool.maxChildrenReached],
    ['slow requests', pool.slowRequests],
    ['restarts', pool.restarts],
    ['respawns', pool.respawns],
    ['scale-ups', pool.scaleUps],
    ['crashes', pool.crashes],
    ['killed', pool.killed],
    ['recycled', pool.recycled],
    ['backoff', backoffText(pool.backoff)],
    ...(pool.backoff.lastFailure === undefined
      ? []
      : [['last failure', pool.backoff.lastFailure] as [string, string]]),
  ];
}

function daemonRows(status: DaemonStatus): [string, string | number][] {
  return [
    ['pid', status.pid],
    ['state', status.state],
    ['config file', status.configFile],
    ['start time', new Date(status.startedAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z')],
    ['start since', formatMillis(status.uptimeMs)],
    ['reloads', status.reloads],
  ];
}

/**
 * The status as text: the daemon's block, then each pool's, separated by blank lines, labels
 * aligned across all blocks. Times are UTC; durations read `1.5s`, `1h 2m 3s`.
 *
 * @see PHP-FPM's status page (`pm.status_path`), whose wording this keeps.
 */
export function formatStatus(status: DaemonStatus): string {
  const blocks = [daemonRows(status), ...status.pools.map(poolRows)];
  const width = Math.max(...blocks.flat().map(([label]) => label.length)) + 2;
  const text = blocks.map((rows) =>
    rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}\n`).join(''),
  );
  if (status.pools.length === 0) text.push('pools: none\n');
  return text.join('\n');
}
