// This file implements the answer to a pool's status page request from the perspective of the
// web server asking (nginx, php-fpm_exporter, Prometheus): the query string picks the format
// as PHP-FPM's does (`json`, `html`, `xml`, `openmetrics`, plain text otherwise; `full` adds the
// workers), and the answer is a whole CGI response that is never cached.
import type { Histogram } from 'prom-client';
import { cgiResponse } from '../../cgi/error-page.ts';
import type { PoolStatus } from '../status.ts';
import { expositionFormat, renderOpenMetrics } from './openmetrics.ts';
import { poolFields } from './status-fields.ts';
import { renderHtml, renderJson, renderPlain, renderXml, type StatusContent } from './status-render.ts';

/** The formats of the status page. @see PHP-FPM `pm.status_path` */
export type StatusFormat = 'plain' | 'json' | 'html' | 'xml' | 'openmetrics';

/** What a status request asks for. */
export interface StatusQuery {
  readonly format: StatusFormat;
  /** `full`: one block per worker. */
  readonly full: boolean;
  /** The client's `Accept` (`HTTP_ACCEPT`): OpenMetrics or Prometheus text for `openmetrics`. */
  readonly accept: string;
}

/**
 * Reads `QUERY_STRING` (and the client's `Accept`) as PHP-FPM does: its `&`-separated names (values ignored), `json`,
 * `html`, `xml` or `openmetrics` choosing the format (the first one given wins), `full` adding
 * the workers. Anything else is plain text.
 */
export function parseStatusQuery(query: string, accept = ''): StatusQuery {
  const names = query.split('&').map((part) => part.split('=', 1)[0] ?? '');
  const format = names.find((n): n is StatusFormat => n === 'json' || n === 'html' || n === 'xml' || n === 'openmetrics');
  return { format: format ?? 'plain', full: names.includes('full'), accept };
}

/** PHP-FPM's headers on its own pages: never cached. */
export const NO_CACHE: readonly (readonly [string, string])[] = [
  ['Expires', 'Thu, 01 Jan 1970 00:00:00 GMT'],
  ['Cache-Control', 'no-cache, no-store, must-revalidate, max-age=0'],
];

const CONTENT_TYPES: Record<Exclude<StatusFormat, 'openmetrics'>, string> = {
  plain: 'text/plain',
  json: 'application/json',
  html: 'text/html',
  xml: 'text/xml',
};

/**
 * The whole CGI response (200) of a status request for `pool` (its counters at `nowMs`), with
 * `durations`, the pool's request-duration histogram, for OpenMetrics.
 */
export async function statusResponse(pool: PoolStatus, durations: Histogram, query: StatusQuery, nowMs: number): Promise<Buffer> {
  if (query.format === 'openmetrics') {
    const { contentType, text } = await renderOpenMetrics(pool, durations, nowMs, expositionFormat(query.accept));
    return cgiResponse(200, contentType, Buffer.from(text), NO_CACHE);
  }
  const content: StatusContent = { pool: poolFields(pool, nowMs), processes: query.full ? pool.processes : undefined, nowMs };
  const render = { plain: renderPlain, json: renderJson, html: renderHtml, xml: renderXml }[query.format];
  return cgiResponse(200, CONTENT_TYPES[query.format], Buffer.from(render(content)), NO_CACHE);
}
