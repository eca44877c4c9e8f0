// This file implements the `listen` and `listen.mode` values from the perspective of an
// operator who writes PHP-FPM's spellings ("/run/x.sock", "127.0.0.1:9000", "[::1]:9000",
// "0660") or names a socket systemd passes ("systemd:NAME"), and of a supervisor that opens
// sockets from a tagged address.

import { isIPv4, isIPv6 } from 'node:net';
import { resolve } from 'node:path';

/**
 * A listen address: a unix socket path (absolute), a TCP host and port, or a socket systemd
 * opened and passed by name (socket activation: `LISTEN_FDS`, `FileDescriptorName=`).
 * @see PHP-FPM `listen`, sd_listen_fds_with_names(3)
 */
export type ListenAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'systemd'; readonly name: string };

/** The prefix of a `listen` value naming a socket systemd passes: `systemd:NAME`. */
export const SYSTEMD_LISTEN_PREFIX = 'systemd:';

/**
 * Longest name systemd gives a passed socket (`FileDescriptorName=`), in characters.
 * @see systemd `FDNAME_MAX`
 */
export const FDNAME_MAX = 255;

/**
 * Longest unix socket path, in bytes: `sun_path` is 108 bytes on Linux, NUL included.
 * A longer path fails at `listen()` with an obscure error, so refuse it while loading.
 */
export const UNIX_PATH_MAX_BYTES = 107;

const HOSTNAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;
const HOST_PORT_RE = /^(?:\[([^\]]*)\]|([^:[\]]+)):(\d+)$/;
const MODE_RE = /^0?[0-7]{3,4}$/;
/** A URL scheme such as `tcp://` or `http://` at the start of a value. */
const URL_SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** The prefix of a `listen` value naming TCP explicitly: `tcp://HOST:PORT`. */
export const TCP_URL_PREFIX = 'tcp://';

function invalid(value: string, reason: string, options?: ErrorOptions): TypeError {
  return new TypeError(`invalid listen address ${JSON.stringify(value)}: ${reason}`, options);
}

/**
 * The name of `systemd:NAME`, checked as systemd checks `FileDescriptorName=`: 1 to 255
 * printable ASCII characters, no `:` (it separates the names in `LISTEN_FDNAMES`).
 */
function parseSystemdName(name: string, value: string): ListenAddress {
  if (name === '') throw invalid(value, 'name the socket: "systemd:NAME", NAME as in FileDescriptorName=');
  if (name.length > FDNAME_MAX) throw invalid(value, `the socket name is ${name.length} characters, more than systemd's ${FDNAME_MAX}`);
  if (!/^[\x20-\x7e]+$/.test(name) || name.includes(':')) {
    throw invalid(value, 'a systemd socket name is printable ASCII without ":" (FileDescriptorName=)');
  }
  return { kind: 'systemd', name };
}

function parsePort(text: string, value: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw invalid(value, 'the port must be 1 to 65535');
  return port;
}

/** Normalizes an IP literal (`0:0::1` → `::1`) or lowercases a host name. */
function normalizeHost(host: string, bracketed: boolean, value: string): string {
  if (bracketed) {
    if (!isIPv6(host)) throw invalid(value, `${JSON.stringify(host)} is not an IPv6 address`);
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  }
  if (isIPv4(host)) return host;
  if (/^[\d.]+$/.test(host) || !HOSTNAME_RE.test(host)) {
    throw invalid(value, `${JSON.stringify(host)} is neither an IPv4 address nor a host name`);
  }
  return host.toLowerCase();
}

/**
 * Resolves a unix socket path (a `listen` path, `control_socket`) against `baseDir` and checks
 * that it fits in `sun_path`.
 *
 * @param path - the path as written; a relative path is relative to `baseDir`.
 * @param baseDir - absolute directory (the config file's).
 * @returns the absolute path.
 * @throws TypeError when the absolute path is longer than {@link UNIX_PATH_MAX_BYTES}.
 */
export function resolveSocketPath(path: string, baseDir: string): string {
  const absolute = resolve(baseDir, path);
  const bytes = Buffer.byteLength(absolute);
  if (bytes > UNIX_PATH_MAX_BYTES) {
    throw new TypeError(
      `the socket path is ${bytes} bytes, more than the ${UNIX_PATH_MAX_BYTES} unix sockets allow`,
    );
  }
  return absolute;
}

function parseUnixPath(path: string, baseDir: string, value: string): ListenAddress {
  if (/^\d+$/.test(path)) {
    throw invalid(value, `a bare port is ambiguous; write "127.0.0.1:${path}" or "0.0.0.0:${path}"`);
  }
  try {
    return { kind: 'unix', path: resolveSocketPath(path, baseDir) };
  } catch (error) {
    throw invalid(value, (error as Error).message, { cause: error });
  }
}

/**
 * Parses a `listen` value.
 *
 * - `"/run/cgi-fpm/blog.sock"` (or `"unix:/run/…"`, as nginx writes it): a unix socket; a
 *   relative path is relative to `baseDir` (the config file's directory).
 * - `"127.0.0.1:9001"`, `"localhost:9001"`: TCP on an IPv4 address or a host name.
 * - `"[::1]:9001"`: TCP on an IPv6 address (normalized, so `[0:0::1]` is `::1`).
 * - `"tcp://127.0.0.1:9001"`, `"tcp://[::1]:9001"`: the same, with the scheme written out.
 * - `"systemd:NAME"`: the socket systemd passed under the name NAME (socket activation; the
 *   `.socket` unit's `FileDescriptorName=`, by default the unit's name, e.g. `cgi-fpm.socket`).
 *
 * A value starting with `systemd:` always names a passed socket, and one starting with `tcp://`
 * is always TCP; any other `SCHEME://` is refused (it is not a path). Otherwise a value with a
 * `/` is always a path, and one with a `:` and no `/` is always `HOST:PORT`.
 *
 * @param value - the value as written.
 * @param baseDir - absolute directory relative paths are resolved against.
 * @throws TypeError naming the value: a bare port, an unbracketed IPv6 address, a port outside
 *   1–65535, a scheme other than `tcp://`, an empty value, a socket path longer than {@link UNIX_PATH_MAX_BYTES}, or a
 *   systemd socket name systemd would refuse.
 * @see PHP-FPM `listen`, systemd.socket(5) `FileDescriptorName=`
 */
export function parseListenAddress(value: string, baseDir: string): ListenAddress {
  if (value.startsWith(SYSTEMD_LISTEN_PREFIX)) return parseSystemdName(value.slice(SYSTEMD_LISTEN_PREFIX.length), value);
  if (value.startsWith(TCP_URL_PREFIX)) return parseHostPort(value.slice(TCP_URL_PREFIX.length), value);
  const scheme = URL_SCHEME_RE.exec(value)?.[1];
  if (scheme !== undefined) {
    throw invalid(value, `${JSON.stringify(`${scheme}://`)} is not a listen scheme; write "tcp://HOST:PORT", "HOST:PORT", a socket path or "unix:PATH"`);
  }
  const text = value.startsWith('unix:') ? value.slice('unix:'.length) : value;
  if (text === '') throw invalid(value, 'it is empty');
  if (text.includes('/') || !text.includes(':')) return parseUnixPath(text, baseDir, value);
  return parseHostPort(text, value);
}

/** `HOST:PORT` or `[IPv6]:PORT` (`text`), part of the `listen` value `value`. */
function parseHostPort(text: string, value: string): ListenAddress {
  const match = HOST_PORT_RE.exec(text);
  if (match === null) {
    const hint = text.split(':').length > 2 ? '; put an IPv6 address in brackets: "[::1]:9000"' : '';
    throw invalid(value, `expected a socket path, "HOST:PORT" or "[IPv6]:PORT"${hint}`);
  }
  const bracketed = match[1] !== undefined;
  const host = normalizeHost(match[1] ?? match[2] ?? '', bracketed, value);
  return { kind: 'tcp', host, port: parsePort(match[3] ?? '', value) };
}

/**
 * A stable string for an address, used as the key under which pools share a listener and in
 * logs: `unix:/run/cgi-fpm/blog.sock` (as nginx's `fastcgi_pass` writes it), `127.0.0.1:9001`,
 * `[::1]:9001`, `systemd:web`. {@link parseListenAddress} reads it back to an equal address.
 */
export function formatListenAddress(address: ListenAddress): string {
  switch (address.kind) {
    case 'unix':
      return `unix:${address.path}`;
    case 'tcp':
      return address.host.includes(':')
        ? `[${address.host}]:${address.port}`
        : `${address.host}:${address.port}`;
    case 'systemd':
      return `${SYSTEMD_LISTEN_PREFIX}${address.name}`;
  }
}

/**
 * Parses a `listen.mode` value: an octal string such as `"0660"` or `"660"`.
 *
 * Numbers are refused: TOML has no leading-zero integers, and `660` written bare would be the
 * decimal 660 (`0o1224`), not the mode the operator meant.
 *
 * @returns the permission bits, `0` to `0o7777`.
 * @throws TypeError naming the value.
 * @see PHP-FPM `listen.mode`
 */
export function parseSocketMode(value: unknown): number {
  if (typeof value === 'string' && MODE_RE.test(value)) return Number.parseInt(value, 8);
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new TypeError(`invalid socket mode ${shown}: write it as an octal string such as "0660"`);
}

/** Formats permission bits as `listen.mode` is written: four octal digits (`0o660` → `"0660"`). */
export function formatSocketMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
