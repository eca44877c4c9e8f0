// This file implements the options of a FastCGI responder connection from the perspective of the
// code that creates one: documented defaults with units, checked once at construction.

import { GetValuesName } from '../fastcgi/constants.ts';
import { DEFAULT_MAX_PARAMS_BYTES } from '../fastcgi/name-value.ts';
import { encodeGetValuesResult } from '../fastcgi/writer.ts';

/** Options of {@link FcgiResponderConnection}. */
export interface FcgiConnectionOptions {
  /** Bound on one request's params stream, in bytes. @defaultValue 1048576 (1 MiB) */
  maxParamsBytes?: number;
  /**
   * `FCGI_GET_VALUES` answers, merged over `{ FCGI_MAX_CONNS: '1', FCGI_MAX_REQS: '1' }`.
   * `FCGI_MPXS_CONNS` is always `'0'`: the connection never multiplexes.
   * @see FastCGI spec §4.1
   */
  values?: Record<string, string>;
  /** Body bytes buffered in `req.stdin` before the socket is paused, in bytes. @defaultValue 65536 */
  stdinHighWaterMarkBytes?: number;
  /**
   * Keep each request's output back until its body has ended (the connection is the web
   * server's own: `dispatch = "direct"`), spilling past 64 KiB to an unlinked file in this
   * directory (fcgi-held-channel.ts). @defaultValue undefined (no hold: the supervisor's relay
   * holds, and mod_fcgid sends the whole body first)
   */
  holdOutputTempPath?: string;
}

/** {@link FcgiConnectionOptions} with every default applied. */
export interface ResolvedConnectionOptions {
  /** Bound on one request's params stream, in bytes. */
  readonly maxParamsBytes: number;
  /** Body bytes buffered in `req.stdin` before the socket is paused, in bytes. */
  readonly stdinHighWaterMarkBytes: number;
  /** Every `FCGI_GET_VALUES` answer, defaults included. */
  readonly values: Readonly<Record<string, string>>;
  /** The held output's spill directory; undefined: no hold. */
  readonly holdOutputTempPath: string | undefined;
}

/** Resolutions by options object: a worker passes one object for all its connections. */
const resolutions = new WeakMap<FcgiConnectionOptions, ResolvedConnectionOptions>();

/**
 * Apply defaults and check the options, once per options object: the same object passed again
 * (for each connection a worker accepts) returns its first resolution, so a connection does not
 * encode the `FCGI_GET_VALUES` answer again (~6 µs of a direct worker's ~190 per connection).
 * An object changed after its first use is not read again.
 * @throws TypeError when `maxParamsBytes` or `stdinHighWaterMarkBytes` is not a positive integer
 * @throws RangeError when `values` do not fit one `FCGI_GET_VALUES_RESULT` record (65535 bytes)
 * @see FastCGI spec §4.1
 */
export function resolveConnectionOptions(options: FcgiConnectionOptions): ResolvedConnectionOptions {
  const known = resolutions.get(options);
  if (known !== undefined) return known;
  const resolved = resolve(options);
  resolutions.set(options, resolved);
  return resolved;
}

function resolve(options: FcgiConnectionOptions): ResolvedConnectionOptions {
  const values = {
    [GetValuesName.FCGI_MAX_CONNS]: '1',
    [GetValuesName.FCGI_MAX_REQS]: '1',
    ...options.values,
    [GetValuesName.FCGI_MPXS_CONNS]: '0',
  };
  encodeGetValuesResult(Object.keys(values), values); // fail now, not on the first GET_VALUES
  return {
    maxParamsBytes: positiveInteger('maxParamsBytes', options.maxParamsBytes ?? DEFAULT_MAX_PARAMS_BYTES),
    stdinHighWaterMarkBytes: positiveInteger(
      'stdinHighWaterMarkBytes',
      options.stdinHighWaterMarkBytes ?? 65536,
    ),
    values,
    holdOutputTempPath: options.holdOutputTempPath,
  };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`fastcgi: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
