// This file implements the params the supervisor adds to a request it relays, from the
// perspective of the worker that must run exactly the script the router checked: the resolved
// `SCRIPT_FILENAME`, the `PATH_INFO` split off it, and `SCRIPT_NAME` trimmed to match. They go
// after the web server's params (later duplicates win in the worker), split across PARAMS
// records as a name-value stream may be (FastCGI §3.4), and the whole stream must fit the
// worker's bound: that is checked here, once, before a worker is woken.
import { DEFAULT_MAX_PARAMS_BYTES, encodeNameValuePairs } from '../../fastcgi/name-value.ts';
import type { NameValuePairs } from '../../fastcgi/name-value.ts';

/** What the router resolved, as bytes (see `RoutedScript`). */
export interface ResolvedPaths {
  readonly scriptFilename: Buffer;
  readonly pathInfo: Buffer;
  readonly scriptName?: Buffer | undefined;
}

/**
 * The name-value pairs the supervisor appends to the web server's params (not yet framed: a
 * path-info of 70 KB makes them longer than one record, and the channel frames them with
 * `encodeStream`).
 * @see RFC 3875 §4.1.5 (PATH_INFO), §4.1.13 (SCRIPT_NAME); FastCGI spec §3.4
 */
export function encodeOverrides(paths: ResolvedPaths): Buffer {
  const overrides: [string, Buffer][] = [['SCRIPT_FILENAME', paths.scriptFilename]];
  if (paths.pathInfo.length > 0) overrides.push(['PATH_INFO', paths.pathInfo]);
  if (paths.scriptName !== undefined) overrides.push(['SCRIPT_NAME', paths.scriptName]);
  return encodeNameValuePairs(overrides);
}

/**
 * The bytes of the params stream a worker would get (the web server's and the overrides)
 * when that is over the worker's bound, else `undefined`.
 * @param limitBytes - the worker's bound @defaultValue {@link DEFAULT_MAX_PARAMS_BYTES}
 */
export function paramsOverLimit(params: NameValuePairs, overrides: Buffer,
  limitBytes = DEFAULT_MAX_PARAMS_BYTES): number | undefined {
  const total = params.bytes.length + overrides.length;
  return total > limitBytes ? total : undefined;
}
