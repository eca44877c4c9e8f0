// This file implements a slow log entry from the perspective of an operator reading PHP-FPM's
// slowlog: a header line with the time, pool and worker pid, then the script, the request
// (method, URI) and how long it had run, then the stack sample the runtime could give.
import { clean } from '../../log/access-line.ts';
import { strftime } from '../../log/strftime.ts';
import type { RelayRequest } from '../relay/relay-request.ts';

/** What a slow log entry shows. */
export interface SlowEntry {
  readonly pool: string;
  readonly workerPid: number;
  readonly request: RelayRequest;
  /** Time the request had run when it was logged, ms. */
  readonly elapsedMs: number;
  /** When it was logged, ms since the epoch. */
  readonly nowMs: number;
  /** Lines of the running script's stack, innermost first (as PHP-FPM's); empty when the runtime gave none. */
  readonly stack: readonly string[];
  /** Why there is no stack, when there is none. */
  readonly noStack?: string;
}

/**
 * The entry's text, PHP-FPM's shape (`[06-Dec-2026 02:10:11]  [pool www] pid 42`,
 * `script_filename = …`, then ours: `request = GET /x?y`, `elapsed = 5.012s`, the stack), ending
 * with a blank line.
 * @see PHP-FPM `slowlog`, `request_slowlog_timeout` (`sapi/fpm/fpm/fpm_php_trace.c`)
 */
export function slowEntryText(entry: SlowEntry): string {
  const params = entry.request.params;
  const text = (name: string): string => {
    const value = params?.get(name);
    return value === undefined ? '-' : clean(value.toString('utf8'));
  };
  const lines = [
    `[${strftime('%d-%b-%Y %H:%M:%S', entry.nowMs)}]  [pool ${entry.pool}] pid ${entry.workerPid}`,
    `script_filename = ${entry.request.route?.scriptFilename.toString() ?? text('SCRIPT_FILENAME')}`,
    `request = ${text('REQUEST_METHOD')} ${text('REQUEST_URI')}`,
    `elapsed = ${(entry.elapsedMs / 1000).toFixed(3)}s`,
    ...(entry.stack.length > 0 ? entry.stack : [`(no stack: ${entry.noStack ?? 'not available'})`]),
  ];
  return `${lines.join('\n')}\n\n`;
}
