// This file implements log expectations from the perspective of a test that checks what the
// daemon said about a request: the per-request "request" line and the cause events.
import type { Daemon, LogEntry } from './daemon.ts';
import type { HttpResponse } from './http.ts';
import { EVENT_TIMEOUT_MS } from './wait.ts';

/** True when the entry's `script` field names `script` (absolute path or URI path ending in it). */
export function isForScript(entry: LogEntry, script: string): boolean {
  return typeof entry.script === 'string' && entry.script.endsWith(script);
}

/**
 * Waits for the "request" line of `script` logged at index `since` or later and checks its
 * fields (pool, script, status, bytes, ms).
 *
 * @returns the entry, for further assertions
 * @throws Error when no such line appears within `timeoutMs` or its fields have the wrong types
 */
export async function waitForRequestLog(
  daemon: Daemon,
  script: string,
  since: number,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<LogEntry> {
  const entry = await daemon.waitForLog(
    (e) => e.msg === 'request' && isForScript(e, script),
    timeoutMs,
    since,
  );
  const problems: string[] = [];
  if (typeof entry.pool !== 'string') problems.push('pool is not a string');
  if (typeof entry.status !== 'number') problems.push('status is not a number');
  if (typeof entry.bytes !== 'number') problems.push('bytes is not a number');
  if (typeof entry.ms !== 'number') problems.push('ms is not a number');
  if (problems.length > 0)
    throw new Error(`log: "request" line ${JSON.stringify(entry)}: ${problems.join(', ')}`);
  return entry;
}

/** Waits for an event line (`msg === event`) at index `since` or later. */
export function waitForEvent(
  daemon: Daemon,
  event: string,
  since: number,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<LogEntry> {
  return daemon.waitForLog((e) => e.msg === event, timeoutMs, since);
}

/** What the daemon's own error pages carry and nginx's do not (`cgi/error-page.ts`). */
export const DAEMON_PAGE_MARK = '<center>cgi-fpm</center>';

/**
 * Checks that `response` is the daemon's own 504 (its page, not nginx's) because `script` ran
 * into request_terminate_timeout: waits for the "request timeout" line naming the script
 * (logged at index `since` or later) and checks it ran at least `timeoutMs` (less 100 ms of
 * timer rounding) by the daemon's clock. An upper bound there is none: when it is answered
 * depends on the machine.
 *
 * @returns the "request timeout" line
 * @throws Error naming what differs
 */
export async function expectTimeout504(
  daemon: Daemon,
  response: HttpResponse,
  script: string,
  since: number,
  timeoutMs: number,
): Promise<LogEntry> {
  if (response.status !== 504 || !response.text.includes(DAEMON_PAGE_MARK)) {
    throw new Error(`timeout: not the daemon's 504: ${response.status} ${JSON.stringify(response.text)}`);
  }
  const line = await daemon.waitForLog(
    (e) => e.msg === 'request timeout' && isForScript(e, script),
    EVENT_TIMEOUT_MS,
    since,
  );
  if (typeof line.elapsedMs !== 'number' || line.elapsedMs < timeoutMs - 100) {
    throw new Error(`timeout: "request timeout" before ${timeoutMs} ms: ${JSON.stringify(line)}`);
  }
  return line;
}
