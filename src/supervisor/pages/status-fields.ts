// This file implements the content of a pool's status page from the perspective of an operator
// (and of php-fpm_exporter) used to PHP-FPM's: its fields, in its order and with its names and
// meanings, then cgi-fpm's own (queue waits, 503s, crashes apart from scale-ups, recycling,
// backoff), and per worker the fields of PHP-FPM's `full` view. The formats render these lists.
import type { PoolStatus, WorkerStatus } from '../status.ts';

/** A field's value; `time` is a moment (seconds since the epoch), shown as a date in text. */
export type FieldValue = string | number | { readonly time: number };

/** One line of the page: PHP-FPM's label (also the JSON key), and the value. */
export type StatusField = readonly [label: string, value: FieldValue];

/** Whole seconds from `fromMs` to `nowMs`. */
function secondsSince(fromMs: number, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - fromMs) / 1000));
}

/**
 * The pool's fields: PHP-FPM's fourteen (`pool` … `slow requests`), then ours. Counts are since
 * the pool started; a reload that changes the pool starts it again (as PHP-FPM's do).
 * @see PHP-FPM status page (`sapi/fpm/fpm/fpm_status.c`), `www.conf` `pm.status_path`
 */
export function poolFields(pool: PoolStatus, nowMs: number): StatusField[] {
  const total = pool.idle + pool.busy + pool.spawning;
  return [
    ['pool', pool.name],
    ['process manager', pool.pm],
    ['start time', { time: Math.floor(pool.startedAtMs / 1000) }],
    ['start since', secondsSince(pool.startedAtMs, nowMs)],
    ['accepted conn', pool.accepted],
    ['listen queue', pool.queueLength],
    ['max listen queue', pool.maxQueueLength],
    ['listen queue len', pool.queueMax],
    ['idle processes', pool.idle],
    ['active processes', pool.busy],
    ['total processes', total],
    ['max active processes', pool.maxActive],
    ['max children reached', pool.maxChildrenReached],
    ['slow requests', pool.slowRequests],
    // cgi-fpm's own, below PHP-FPM's.
    ['runtime', pool.runtime],
    ['spawning processes', pool.spawning],
    ['max children', pool.maxChildren],
    ['max queue wait ms', Math.round(pool.maxQueueWaitMs)],
    ['total queue wait ms', Math.round(pool.totalQueueWaitMs)],
    ['overloaded', pool.overloaded],
    ['respawns', pool.respawns],
    ['scale ups', pool.scaleUps],
    ['crashes', pool.crashes],
    ['killed', pool.killed],
    ['recycled', pool.recycled],
    ['backoff', pool.backoff.state],
    ['backoff delay ms', pool.backoff.delayMs],
    ['backoff failures', pool.backoff.failures],
    ...(pool.rssBytes === undefined ? [] : [['memory', pool.rssBytes] as StatusField]),
  ];
}

/**
 * One worker's fields in PHP-FPM's `full` view: `request duration` in µs, `last request cpu`
 * in % of one CPU and `last request memory` in bytes (0: not measured yet, see docs/config.md).
 * `request URI` is spelled `request uri` in JSON, as PHP-FPM does.
 */
export function processFields(worker: WorkerStatus, nowMs: number): StatusField[] {
  return [
    ['pid', worker.pid],
    ['state', worker.state],
    ['start time', { time: Math.floor(worker.startedAtMs / 1000) }],
    ['start since', secondsSince(worker.startedAtMs, nowMs)],
    ['requests', worker.requests],
    ['request duration', worker.requestDurationUs],
    ['request method', worker.requestMethod],
    ['request URI', worker.requestUri],
    ['content length', worker.contentLength],
    ['user', worker.user],
    ['script', worker.script],
    ['last request cpu', worker.lastRequestCpu ?? 0],
    ['last request memory', worker.lastRequestMemoryBytes ?? 0],
    ...(worker.rssBytes === undefined ? [] : [['memory', worker.rssBytes] as StatusField]),
  ];
}
