// This file implements the interpretation of a CGI response header block from the perspective
// of the gateway that has found its end: header lines in, status and ordered fields out,
// with the RFC 3875 §6 defaults (Status, client redirect). The byte scanning is in response.ts.
import { CgiError, ErrorCode } from '../errors.ts';
import { reasonPhrase } from './reason-phrase.ts';

/**
 * A parsed CGI response head: what a web server needs to answer the client.
 * @see RFC 3875 §6.2 (response types), §6.3 (response header fields)
 */
export interface CgiHead {
  /** HTTP status, 200–599: from `Status:`, an NPH status line, or the §6.2 defaults. */
  status: number;
  /** Reason phrase as the script wrote it, else the standard one (`''` if none is known). */
  reason: string;
  /** Every other header field in order, repeats kept (two `Set-Cookie`), names as written. */
  headers: [string, string][];
}

/** An HTTP field name (RFC 9110 §5.1 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** `Status:` value: three digits, then an optional reason. @see RFC 3875 §6.3.3 */
const STATUS_VALUE = /^(\d{3})(?:[ \t]+(.*))?$/;
/** The status line of an NPH script, `HTTP/1.1 200 OK`. @see RFC 3875 §5 */
const NPH_STATUS_LINE = /^HTTP\/\d(?:\.\d)? +(\d{3})(?:[ \t]+(.*))?$/;

/**
 * True when `location` is a local redirect: an absolute path, not a `//host` reference.
 * @see RFC 3875 §6.2.2 (local redirect), §6.2.3 (client redirect)
 */
export function isLocalLocation(location: string): boolean {
  return location.startsWith('/') && !location.startsWith('//');
}

/**
 * Interprets the lines of a header block (without the blank line; a trailing CR is allowed).
 * A first line `HTTP/1.x NNN reason` (NPH) and `Status:` set the status; obsolete folded
 * lines join the previous field with one space (RFC 9110 §5.5); without a status, a
 * `Location` that is not a local path means 302 Found, anything else 200 OK.
 * @throws CgiError `ERR_CGI_BAD_HEADERS` for a line without `:`, a bad field name, control
 *   bytes in a value, a malformed or duplicate status, or a status outside 200–599.
 * @see RFC 3875 §6.2, §6.3
 */
export function parseHeadLines(lines: readonly string[], scriptFilename: string): CgiHead {
  const headers: [string, string][] = [];
  let status: [number, string] | undefined;
  let last: [string, string] | undefined;
  const bad = (what: string, line: string): CgiError => badHeaders(what, line, scriptFilename);
  for (const [index, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (index === 0 && line.startsWith('HTTP/')) {
      status = parseStatus(NPH_STATUS_LINE.exec(line), () => bad('malformed status line', line));
    } else if (line.startsWith(' ') || line.startsWith('\t')) {
      if (last === undefined) throw bad('continuation line without a field', line);
      last[1] = joinFolded(last[1], checkedValue(line, bad));
    } else {
      const colon = line.indexOf(':');
      if (colon === -1) throw bad("line has no ':'", line);
      const name = line.slice(0, colon);
      if (!TOKEN.test(name)) throw bad('bad field name', line);
      const value = checkedValue(line.slice(colon + 1), bad);
      last = undefined;
      if (name.toLowerCase() !== 'status') headers.push((last = [name, value]));
      else if (status !== undefined) throw bad('duplicate status', line);
      else status = parseStatus(STATUS_VALUE.exec(value), () => bad('malformed status', line));
    }
  }
  const [code, reason] = status ?? defaultStatus(headers);
  return { status: code, reason, headers };
}

/** The §6.2 default: 302 for a client redirect, else 200. */
function defaultStatus(headers: readonly [string, string][]): [number, string] {
  const location = headers.find(([name]) => name.toLowerCase() === 'location');
  if (location !== undefined && !isLocalLocation(location[1])) return [302, reasonPhrase(302)];
  return [200, reasonPhrase(200)];
}

function parseStatus(match: RegExpExecArray | null, bad: () => CgiError): [number, string] {
  if (match === null) throw bad();
  const code = Number(match[1]);
  if (code < 200 || code > 599) throw bad();
  const reason = trimOws(match[2] ?? '');
  return [code, reason === '' ? reasonPhrase(code) : reason];
}

function checkedValue(text: string, bad: (what: string, line: string) => CgiError): string {
  const value = trimOws(text);
  if (hasControl(value)) throw bad('control byte in field value', text);
  return value;
}

/** True for control bytes a value must not carry (HTAB aside): no CR, LF or NUL to smuggle. */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

function joinFolded(value: string, more: string): string {
  if (value === '') return more;
  return more === '' ? value : `${value} ${more}`;
}

/** Strips optional whitespace (SP, HTAB) only: `trim()` would also eat latin1 0xA0 bytes. */
function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === ' ' || text[start] === '\t')) start++;
  while (end > start && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
  return text.slice(start, end);
}

function badHeaders(what: string, line: string, scriptFilename: string): CgiError {
  const shown = JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line);
  return new CgiError(ErrorCode.ERR_CGI_BAD_HEADERS, `cgi: bad headers: ${what}: ${shown}`, {
    scriptFilename,
  });
}
