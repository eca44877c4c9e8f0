// This file implements the access log's line from the perspective of an operator reading it as
// PHP-FPM's: `access.format`'s `%`-tokens (parsed by config/access-format.ts) filled in from one
// request's params and outcome, or the JSON form (one object per line, one `pid`). Pure: the
// supervisor writes the line (log/log-files.ts).
import {
  DEFAULT_TIME_FORMAT, type AccessFormat, type AccessToken,
} from '../config/access-format.ts';
import { strftime } from './strftime.ts';

/** The params an access line reads (a request's `NameValuePairs`). */
export interface AccessParams {
  get(name: string): Buffer | undefined;
}

/** One answered request, as the access log sees it. */
export interface AccessEntry {
  /** The pool that answered (or whose rules refused it). */
  readonly pool: string;
  /** The script (resolved path), else `SCRIPT_FILENAME` as sent, else the page path. */
  readonly script: string;
  /** The HTTP status sent; 499 when the web server gave up before an answer (nginx's code). */
  readonly status: number;
  /** When its params were complete, and when it ended, ms since the epoch. */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** The web server's params, when they were complete. */
  readonly params: AccessParams | undefined;
  /** The worker that ran it; the supervisor's pid for its own answers. @see FPM `%p` */
  readonly pid: number;
  /** The supervisor's pid. @see FPM `%P` */
  readonly supervisorPid: number;
  /** Bytes of a worker's response (CGI head and body) relayed; absent for the supervisor's own. */
  readonly bytes?: number;
  /** CPU of the request, % of one CPU (`%C`); absent when not measured. */
  readonly cpuPercent?: number;
  /** Memory of the worker after the request, bytes (`%M`); absent when not measured. */
  readonly memoryBytes?: number;
}

/** Control bytes (and DEL) written as `\xNN`, so that every entry stays one line. */
export function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function param(entry: AccessEntry, name: string): string | undefined {
  const value = entry.params?.get(name);
  return value === undefined || value.length === 0 ? undefined : clean(value.toString('utf8'));
}

/** The request URI without its query (`%r`): `REQUEST_URI` cut at `?`, else `SCRIPT_NAME`. */
function requestPath(entry: AccessEntry): string | undefined {
  const uri = param(entry, 'REQUEST_URI');
  if (uri === undefined) return param(entry, 'SCRIPT_NAME');
  const q = uri.indexOf('?');
  return q < 0 ? uri : uri.slice(0, q);
}

function duration(entry: AccessEntry, unit: string | undefined): string {
  const ms = Math.max(0, entry.endedAtMs - entry.startedAtMs);
  switch (unit) {
    case 'milliseconds': case 'milli': case 'miliseconds': case 'mili':
      return ms.toFixed(3);
    case 'microseconds': case 'micro':
      return String(Math.round(ms * 1000));
    case 'seconds':
    case undefined:
    default:
      return (ms / 1000).toFixed(3);
  }
}

function memory(bytes: number | undefined, unit: string | undefined): string {
  if (bytes === undefined) return '-';
  switch (unit) {
    case 'kilobytes': case 'kilo':
      return String(Math.floor(bytes / 1024));
    case 'megabytes': case 'mega':
      return String(Math.floor(bytes / 1048576));
    case 'bytes':
    case undefined:
    default:
      return String(bytes);
  }
}

function field(token: Extract<AccessToken, { kind: 'field' }>, e: AccessEntry): string {
  switch (token.code) {
    case 'C': return e.cpuPercent === undefined ? '-' : e.cpuPercent.toFixed(2);
    case 'd': return duration(e, token.arg);
    case 'e': return param(e, token.arg ?? '') ?? '-';
    case 'f': return clean(e.script) || '-';
    case 'l': return param(e, 'CONTENT_LENGTH') ?? '0';
    case 'm': return param(e, 'REQUEST_METHOD') ?? '-';
    case 'M': return memory(e.memoryBytes, token.arg);
    case 'n': return e.pool;
    case 'p': return String(e.pid);
    case 'P': return String(e.supervisorPid);
    case 'q': return param(e, 'QUERY_STRING') ?? '';
    case 'Q': return param(e, 'QUERY_STRING') === undefined ? '' : '?';
    case 'r': return requestPath(e) ?? '-';
    case 'R': return param(e, 'REMOTE_ADDR') ?? '-';
    case 's': return String(e.status);
    case 't': return strftime(token.arg ?? DEFAULT_TIME_FORMAT, e.startedAtMs);
    case 'T': return strftime(token.arg ?? DEFAULT_TIME_FORMAT, e.endedAtMs);
    case 'u': return param(e, 'REMOTE_USER') ?? '-';
  }
}

/** The JSON form: one object with one `pid` (the worker's), absent fields left out. */
function jsonLine(e: AccessEntry): string {
  const object = {
    time: new Date(e.startedAtMs).toISOString(), pool: e.pool, script: e.script || undefined,
    method: param(e, 'REQUEST_METHOD'), uri: param(e, 'REQUEST_URI') ?? param(e, 'SCRIPT_NAME'),
    query: param(e, 'QUERY_STRING'), status: e.status, client: param(e, 'REMOTE_ADDR'),
    user: param(e, 'REMOTE_USER'), userAgent: param(e, 'HTTP_USER_AGENT'),
    requestId: param(e, 'HTTP_X_REQUEST_ID') ?? param(e, 'REQUEST_ID'),
    contentLength: Number(param(e, 'CONTENT_LENGTH') ?? 0), bytes: e.bytes,
    durationMs: Math.round(Math.max(0, e.endedAtMs - e.startedAtMs) * 1000) / 1000, pid: e.pid,
    cpuPercent: e.cpuPercent, memoryBytes: e.memoryBytes,
  };
  return JSON.stringify(object);
}

/**
 * The line (ending in `\n`) for `entry` in `format`.
 * @see PHP-FPM `access.format` (`sapi/fpm/fpm/fpm_log.c`)
 */
export function accessLine(format: AccessFormat, entry: AccessEntry): string {
  if (format.kind === 'json') return `${jsonLine(entry)}\n`;
  let line = '';
  for (const token of format.tokens) line += token.kind === 'text' ? token.text : field(token, entry);
  return `${line}\n`;
}
