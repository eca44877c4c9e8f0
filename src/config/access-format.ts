// This file implements the syntax of `access.format` from the perspective of the config loader:
// PHP-FPM's `%`-tokens (`%m %r %Q%q %s %{mili}d …`) parsed once into a token list, with a
// clear error for an unknown token or argument, and the `"json"` form. No formatting here:
// log/access-line.ts turns the tokens into a line per request.

/** PHP-FPM's default `access.format`: client, user, time, request line, status. */
export const DEFAULT_ACCESS_FORMAT = '%R - %u %t "%m %r" %s';

/** The `access.format` value that writes one JSON object per line instead of a `%` format. */
export const JSON_ACCESS_FORMAT = 'json';

/** PHP-FPM's default time format of `%t` and `%T` (strftime(3)): `21/Jul/2026:10:11:12 +0200`. */
export const DEFAULT_TIME_FORMAT = '%d/%b/%Y:%H:%M:%S %z';

/** The strftime(3) conversions `%{…}t` accepts (C locale). */
export const STRFTIME_CONVERSIONS = 'aAbBdDeFHIjmMnpRsSTuwyYz%';

/** The `%` codes: PHP-FPM's, as documented in its `www.conf` (`%o` aside, see below). */
const ARGUMENTS = {
  C: ['user', 'system', 'total'],
  d: ['seconds', 'milliseconds', 'milli', 'miliseconds', 'mili', 'microseconds', 'micro'],
  M: ['bytes', 'kilobytes', 'kilo', 'megabytes', 'mega'],
} as const;
const PLAIN = 'flmnpPqQrRsu';
const CODES = `CdeMtT${PLAIN}`;

/** One `%` code of an access format. @see PHP-FPM `access.format` */
export type AccessCode = 'C' | 'd' | 'e' | 'f' | 'l' | 'm' | 'M' | 'n' | 'p' | 'P' | 'q' | 'Q' | 'r' | 'R' | 's' | 't' | 'T' | 'u';

/** A piece of an access format: literal text, or a field with its `%{…}` argument. */
export type AccessToken =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'field'; readonly code: AccessCode; readonly arg: string | undefined };

/** A parsed `access.format`: the `"json"` form, or tokens. */
export type AccessFormat = { readonly kind: 'json' } | { readonly kind: 'tokens'; readonly tokens: readonly AccessToken[] };

/**
 * Parses an `access.format` value.
 *
 * @throws TypeError naming the offending token and its offset, e.g.
 *   `unknown token "%x" at offset 3`, `"%{hours}d": the argument must be one of seconds, …`.
 * @see PHP-FPM `access.format` (www.conf), `sapi/fpm/fpm/fpm_log.c`
 */
export function parseAccessFormat(format: string): AccessFormat {
  if (format === JSON_ACCESS_FORMAT) return { kind: 'json' };
  const tokens: AccessToken[] = [];
  let text = '';
  for (let i = 0; i < format.length; i++) {
    const c = format.charAt(i);
    if (c !== '%') {
      text += c;
      continue;
    }
    const start = i;
    let arg: string | undefined;
    if (format[i + 1] === '{') {
      const close = format.indexOf('}', i + 2);
      if (close < 0) throw new TypeError(`unterminated "%{" at offset ${start}`);
      arg = format.slice(i + 2, close);
      i = close;
    }
    const code = format[i + 1];
    i += 1;
    if (code === undefined) throw new TypeError(`a lone "%" at the end (write "%%" for a percent sign)`);
    if (code === '%' && arg === undefined) {
      text += '%';
      continue;
    }
    const shown = format.slice(start, i + 1);
    checkField(code, arg, shown, start);
    if (text !== '') tokens.push({ kind: 'text', text });
    text = '';
    tokens.push({ kind: 'field', code: code as AccessCode, arg });
  }
  if (text !== '') tokens.push({ kind: 'text', text });
  return { kind: 'tokens', tokens };
}

function checkField(code: string, arg: string | undefined, shown: string, offset: number): void {
  if (code === 'o') {
    throw new TypeError(`"${shown}" at offset ${offset}: output headers are not logged (the supervisor relays the response without reading its headers)`);
  }
  if (!CODES.includes(code)) throw new TypeError(`unknown token "${shown}" at offset ${offset}`);
  if (arg === undefined) {
    if (code === 'e') throw new TypeError(`"${shown}" at offset ${offset}: %e needs a variable name, e.g. %{HTTP_USER_AGENT}e`);
    return;
  }
  const allowed = (ARGUMENTS as Record<string, readonly string[] | undefined>)[code];
  if (allowed !== undefined) {
    if (!allowed.includes(arg)) throw new TypeError(`"${shown}": the argument must be one of ${allowed.join(', ')}`);
  } else if (code === 't' || code === 'T') {
    checkTimeFormat(arg, shown);
  } else if (code === 'e') {
    if (!/^[A-Za-z0-9_.-]+$/.test(arg)) throw new TypeError(`"${shown}": not a variable name`);
  } else {
    throw new TypeError(`"${shown}" at offset ${offset}: %${code} takes no argument`);
  }
}

function checkTimeFormat(format: string, shown: string): void {
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    const conversion = format[i + 1];
    if (conversion === undefined || !STRFTIME_CONVERSIONS.includes(conversion)) {
      throw new TypeError(`"${shown}": unsupported strftime conversion "%${conversion ?? ''}" (supported: ${STRFTIME_CONVERSIONS.split('').map((c) => `%${c}`).join(' ')})`);
    }
    i += 1;
  }
}

/**
 * True when lines in `format` show what a worker must measure per request (`%C` CPU, `%M`
 * memory; the JSON form has both): workers then report them (a few system calls per request).
 */
export function accessFormatNeedsUsage(format: AccessFormat): boolean {
  return format.kind === 'json' || format.tokens.some((t) => t.kind === 'field' && (t.code === 'C' || t.code === 'M'));
}
