// This file implements a pool's status page as OpenMetrics (`?openmetrics`) from the perspective
// of a Prometheus server scraping it through the web server: PHP-FPM's metric names
// (`phpfpm_accepted_connections`, `phpfpm_listen_queue`, …), cgi-fpm's own as `cgifpm_*`, and
// the pool's request-duration histogram, every series labelled with the pool. The exposition
// text is prom-client's.
import { Counter, Gauge, Registry, type Histogram, type RegistryContentType } from 'prom-client';
import type { PoolStatus } from '../status.ts';

/** The exposition formats: OpenMetrics 1.0.0 text, or Prometheus text 0.0.4. */
export type ExpositionFormat = 'openmetrics' | 'prometheus';

/**
 * The format a scraper asked for: OpenMetrics when its `Accept` names
 * `application/openmetrics-text` (Prometheus servers do), else Prometheus text 0.0.4 (what
 * `curl` and `promtool check metrics` read).
 */
export function expositionFormat(accept: string): ExpositionFormat {
  return accept.includes('application/openmetrics-text') ? 'openmetrics' : 'prometheus';
}

type Kind = 'gauge' | 'counter';

/** PHP-FPM's metrics (its `?openmetrics` page, PHP 8.1+), then ours: name, kind, help, value. */
function series(pool: PoolStatus, nowMs: number): [string, Kind, string, number][] {
  return [
    ['phpfpm_up', 'gauge', 'Whether the pool answered (always 1 here).', 1],
    ['phpfpm_start_since', 'gauge', 'Seconds since the pool started.', Math.max(0, Math.floor((nowMs - pool.startedAtMs) / 1000))],
    ['phpfpm_accepted_connections_total', 'counter', 'Requests routed to the pool.', pool.accepted],
    ['phpfpm_listen_queue', 'gauge', 'Requests waiting for a worker.', pool.queueLength],
    ['phpfpm_max_listen_queue', 'gauge', 'Most requests waiting at once.', pool.maxQueueLength],
    ['phpfpm_listen_queue_length', 'gauge', 'Size of the queue (queue.max).', pool.queueMax],
    ['phpfpm_idle_processes', 'gauge', 'Workers waiting for a request.', pool.idle],
    ['phpfpm_active_processes', 'gauge', 'Workers running a request.', pool.busy],
    ['phpfpm_total_processes', 'gauge', 'Workers alive (idle, active, starting).', pool.idle + pool.busy + pool.spawning],
    ['phpfpm_max_active_processes', 'gauge', 'Most workers active at once.', pool.maxActive],
    ['phpfpm_max_children_reached_total', 'counter', 'Times a request waited with pm.max_children running.', pool.maxChildrenReached],
    ['phpfpm_slow_requests_total', 'counter', 'Requests that passed request_slowlog_timeout.', pool.slowRequests],
    ['cgifpm_spawning_processes', 'gauge', 'Workers forked, not yet ready.', pool.spawning],
    ['cgifpm_max_children', 'gauge', 'pm.max_children.', pool.maxChildren],
    ['cgifpm_queue_wait_max_seconds', 'gauge', 'Longest time a request waited for a worker.', pool.maxQueueWaitMs / 1000],
    ['cgifpm_queue_wait_seconds_total', 'counter', 'Time requests waited for a worker, summed.', pool.totalQueueWaitMs / 1000],
    ['cgifpm_overloaded_total', 'counter', 'Requests answered 503 (queue full, queue timeout, backing off).', pool.overloaded],
    ['cgifpm_respawns_total', 'counter', 'Forks that replaced a worker (died, killed, recycled).', pool.respawns],
    ['cgifpm_scale_ups_total', 'counter', 'Forks that grew the pool (pm policy).', pool.scaleUps],
    ['cgifpm_crashes_total', 'counter', 'Workers that died without being asked to.', pool.crashes],
    ['cgifpm_killed_total', 'counter', 'Workers the supervisor killed (timeout, abort, protocol error).', pool.killed],
    ['cgifpm_recycled_total', 'counter', 'Workers recycled (pm.max_requests, pm.max_memory, state).', pool.recycled],
    ['cgifpm_backoff', 'gauge', '1 while respawns are slowed down by the crash backoff.', pool.backoff.state === 'backing-off' ? 1 : 0],
    ['cgifpm_backoff_delay_seconds', 'gauge', 'Current delay before the next respawn.', pool.backoff.delayMs / 1000],
    ...(pool.rssBytes === undefined ? [] : [['cgifpm_memory_bytes', 'gauge', 'Resident memory of the pool\'s workers and runtimes.', pool.rssBytes] as [string, Kind, string, number]]),
  ];
}

/**
 * The pool's metrics as exposition text in `format`, with `durations` (the pool's
 * request-duration histogram) and every series labelled `pool="NAME"`. Counters are named
 * `…_total` (OpenMetrics' rule; PHP-FPM's own page leaves the suffix off).
 * @returns the Content-Type and the text
 * @see https://prometheus.io/docs/specs/om/open_metrics_spec/ ; PHP-FPM `?openmetrics`
 */
export async function renderOpenMetrics(pool: PoolStatus, durations: Histogram, nowMs: number,
  format: ExpositionFormat): Promise<{ contentType: string; text: string }> {
  // prom-client's typings lack the constructor's content type; setContentType is the same.
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
  registry.setDefaultLabels({ pool: pool.name });
  for (const [name, kind, help, value] of series(pool, nowMs)) {
    if (kind === 'gauge') new Gauge({ name, help, registers: [registry] }).set(value);
    else new Counter({ name, help, registers: [registry] }).inc(value);
  }
  registry.registerMetric(durations);
  return { contentType: registry.contentType, text: await registry.metrics() };
}
