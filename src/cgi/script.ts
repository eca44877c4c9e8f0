// This file implements script resolution and containment from the perspective of the gateway
// deciding whether the SCRIPT_FILENAME a web server sent may run: bytes, root, file type,
// `match` globs, executable bit. Paths are bytes from the web server to the file system (a file
// name need not be UTF-8); only the glob match and log text decode them. Pure: the file system
// is injected (`node:fs/promises` fits).
import { matcherFor } from './script-match.ts';

/**
 * The file-system calls resolution needs, on paths as bytes; `node:fs/promises` satisfies it as
 * is, tests may pass a fake.
 */
export interface ScriptFs {
  /** Resolves symlinks, `.` and `..`; rejects with `ENOENT`/`ENOTDIR` for a missing path. */
  realpath(path: Buffer, options: { encoding: 'buffer' }): Promise<Buffer>;
  /** Follows symlinks; `mode` holds the permission bits. */
  stat(path: Buffer): Promise<{ isFile(): boolean; mode: number }>;
  /** Rejects unless the calling process has the `mode` access (`X_OK` = 1) to `path`. */
  access(path: Buffer, mode?: number): Promise<void>;
}

/** Which scripts a pool may run. */
export interface ScriptRules {
  /** Absolute real path (symlinks resolved) of the directory scripts must lie in. */
  readonly root: string;
  /**
   * picomatch globs the path relative to `root` must match; a glob without `/` is matched
   * against the basename. Dot files and dot directories match only globs that name the dot.
   * A file name that is not UTF-8 is matched as its UTF-8 decoding (a byte that is not UTF-8
   * reads as U+FFFD, so `*.py` matches it and a glob cannot name it).
   * @defaultValue `['**']` (the config's default)
   */
  readonly match: readonly string[];
  /**
   * When true the file must be executable by the daemon (`access(X_OK)`), as under CGI.
   * @see `require_executable` (docs/config.md)
   */
  readonly requireExecutable: boolean;
}

/**
 * The outcome of {@link resolveScript}: the real script path and its path-info (bytes, as the
 * file system and the web server have them), or the status to answer with the log event and
 * the exact cause (e.g. `outside root /srv/blog: /etc/passwd`).
 */
export type ScriptResolution =
  | { ok: true; scriptFilename: Buffer; pathInfo: Buffer }
  | { ok: false; status: 403 | 404; event: 'script not found' | 'script refused'; reason: string };

/** `X_OK` from `<unistd.h>`: the same value on every POSIX system (and in `fs.constants`). */
const X_OK = 1;
const SLASH = 0x2f;
const AS_BUFFER = { encoding: 'buffer' } as const;

/** Apache mod_proxy_fcgi's prefix on `SCRIPT_FILENAME` (unless `ProxyFCGIBackendType GENERIC`). */
const PROXY_PREFIX = /^proxy:(?:fcgi|balancer):\/\/[^/]*/i;

/** Pool roots as bytes, by root (a handful per daemon). */
const rootBytes = new Map<string, Buffer>();

/**
 * Removes Apache's `proxy:fcgi://host[:port]` (or `proxy:balancer://name`) prefix, and with it
 * the `?query` Apache appends after a proxying RewriteRule, as PHP-FPM does. Any other path
 * is returned unchanged (the same object).
 * @example `stripProxyPrefix('proxy:fcgi://localhost:9000/srv/cgi/a.py')` -> `/srv/cgi/a.py`
 * @see Apache mod_proxy_fcgi `ProxyFCGIBackendType`; php-src `sapi/fpm/fpm/fpm_main.c`
 */
export function stripProxyPrefix(scriptFilename: string): string;
export function stripProxyPrefix(scriptFilename: Buffer): Buffer;
export function stripProxyPrefix(scriptFilename: string | Buffer): string | Buffer {
  // Bytes are matched as latin1 text: one character per byte, so offsets carry over. Only a
  // path starting with `p` or `P` can hold the prefix: others are not decoded at all.
  const text = typeof scriptFilename === 'string' ? scriptFilename
    : ((scriptFilename[0] ?? 0) | 0x20) === 0x70 ? scriptFilename.toString('latin1') : '';
  const prefix = PROXY_PREFIX.exec(text);
  if (prefix === null) return scriptFilename;
  const query = text.indexOf('?', prefix[0].length);
  const end = query === -1 ? text.length : query;
  return typeof scriptFilename === 'string'
    ? scriptFilename.slice(prefix[0].length, end)
    : scriptFilename.subarray(prefix[0].length, end);
}

/**
 * Decides whether `scriptFilename` may run under `rules`, and where.
 *
 * Order: bytes (NUL, CR, LF -> 403), absolute path (-> 403), existence (-> 404), real path
 * inside `root` (symlinks and `..` resolved -> 403), regular file (-> 403), `match` (-> 403),
 * executable (-> 403). When the path does not exist, `pathInfo` is empty and a leading part of
 * it is a regular file (`/srv/cgi/hello.py/extra/path`), that file runs and the rest becomes
 * the path-info, as fcgiwrap and Apache do; when `pathInfo` was sent and the path ends with
 * it (Apache's `proxy-fcgi-pathinfo=first-dot`), the path without it runs.
 *
 * @param scriptFilename - `SCRIPT_FILENAME` as sent, bytes (an Apache proxy prefix is stripped).
 * @param pathInfo - `PATH_INFO` as sent, bytes; empty when absent.
 * @param rules - the pool's root, globs and executable requirement.
 * @param fs - the injected file system.
 * @returns the real path and path-info (bytes), or the refusal; never rejects for a missing or
 *   forbidden path.
 * @throws the `fs` error itself for failures other than ENOENT, ENOTDIR, ENAMETOOLONG,
 *   EACCES, EPERM and ELOOP (e.g. EIO): the caller answers 500/502.
 * @see RFC 3875 §3.3 (script-URI), §4.1.5 (PATH_INFO), §8.1 (path segments), §9.8 (relative paths)
 */
export async function resolveScript(
  scriptFilename: Buffer,
  pathInfo: Buffer,
  rules: ScriptRules,
  fs: ScriptFs,
): Promise<ScriptResolution> {
  const path = stripProxyPrefix(scriptFilename);
  const bad = checkPath(path, pathInfo);
  if (bad !== undefined) return bad;
  const found = await findScript(path, pathInfo, fs);
  if (!found.ok) return found;
  const real = found.scriptFilename;
  const root = bytesOfRoot(rules.root);
  if (!isInside(real, root)) return refused(`outside root ${rules.root}: ${text(real)}`);
  const stats = await fs.stat(real).catch((err: unknown) => classify(err, real));
  if ('ok' in stats) return stats;
  if (!stats.isFile()) return refused(`not a regular file: ${text(real)}`);
  if (!matcherFor(rules.match)(relativeText(real, root))) {
    return refused(`not matched: ${text(real)} (match ${rules.match.join(', ')})`);
  }
  if (rules.requireExecutable) {
    const denied = await fs.access(real, X_OK).then(
      () => undefined,
      (err: unknown) =>
        isCode(err, 'EACCES', 'EPERM') ? refused(`not executable: ${text(real)}`) : classify(err, real),
    );
    if (denied !== undefined) return denied;
  }
  return found;
}

/** The checks before any file-system call: bytes, emptiness, absolute path. */
function checkPath(path: Buffer, pathInfo: Buffer): ScriptResolution | undefined {
  if (hasBadBytes(path)) return refused(`bad bytes in path: SCRIPT_FILENAME ${JSON.stringify(text(path))}`);
  if (hasBadBytes(pathInfo)) return refused(`bad bytes in path: PATH_INFO ${JSON.stringify(text(pathInfo))}`);
  if (path.length === 0) return notFound('no SCRIPT_FILENAME');
  if (path[0] !== SLASH) return refused(`path not absolute: ${text(path)}`);
  return undefined;
}

/**
 * The real path of `path`, or of its longest leading part that is a regular file (the rest
 * becoming the path-info) when `path` does not exist and no path-info was sent. When path-info
 * was sent and `path` ends with it (Apache mod_proxy_fcgi with `proxy-fcgi-pathinfo=first-dot`
 * sends `/srv/cgi/a.py/x` and `PATH_INFO=/x`, as PHP-FPM's `cgi.fix_pathinfo` expects), that
 * suffix alone is cut.
 */
async function findScript(path: Buffer, pathInfo: Buffer, fs: ScriptFs): Promise<ScriptResolution> {
  const repeatsPathInfo = pathInfo.length > 0 && path.length > pathInfo.length && endsWith(path, pathInfo);
  let candidate = path;
  for (;;) {
    let real: Buffer;
    try {
      real = await fs.realpath(candidate, AS_BUFFER);
    } catch (err) {
      // Walk up one component: `/srv/cgi/a.py/x` fails with ENOTDIR, then `/srv/cgi/a.py` exists.
      const cut = pathInfo.length === 0 ? candidate.lastIndexOf(SLASH) : path.length - pathInfo.length;
      const walk = pathInfo.length === 0 || (repeatsPathInfo && candidate === path);
      if (!isCode(err, 'ENOENT', 'ENOTDIR') || !walk || cut <= 0) return classify(err, path);
      candidate = candidate.subarray(0, cut);
      continue;
    }
    if (candidate === path) return { ok: true, scriptFilename: real, pathInfo };
    const isFile = await fs.stat(real).then(
      (stats) => stats.isFile(),
      () => false,
    );
    if (!isFile) return notFound(`no such file: ${text(path)}`);
    return { ok: true, scriptFilename: real, pathInfo: path.subarray(candidate.length) };
  }
}

/** Turns an fs rejection into the answer it means, or rethrows what is not about the path. */
function classify(err: unknown, path: Buffer): ScriptResolution {
  if (isCode(err, 'ENOENT', 'ENOTDIR', 'ENAMETOOLONG')) return notFound(`no such file: ${text(path)}`);
  if (isCode(err, 'EACCES', 'EPERM')) return refused(`permission denied: ${text(path)}`);
  if (isCode(err, 'ELOOP')) return refused(`symlink loop: ${text(path)}`);
  throw err;
}

/** True when `err` carries one of the errno `codes` (`err.code`, as Node's fs errors do). */
function isCode(err: unknown, ...codes: string[]): boolean {
  if (typeof err !== 'object' || err === null || !('code' in err)) return false;
  return typeof err.code === 'string' && codes.includes(err.code);
}

/** NUL ends a C string early, CR and LF split log lines and headers. */
function hasBadBytes(path: Buffer): boolean {
  return path.includes(0) || path.includes(0x0d) || path.includes(0x0a);
}

/** The path as text for log lines and refusals (UTF-8; a byte that is not UTF-8 reads U+FFFD). */
function text(path: Buffer): string {
  return path.toString('utf8');
}

function bytesOfRoot(root: string): Buffer {
  let bytes = rootBytes.get(root);
  if (bytes === undefined) {
    bytes = Buffer.from(root);
    rootBytes.set(root, bytes);
  }
  return bytes;
}

function endsWith(path: Buffer, suffix: Buffer): boolean {
  return path.compare(suffix, 0, suffix.length, path.length - suffix.length) === 0;
}

/**
 * True when `real` is `root` or lies below it; `/srv/app2` is not inside `/srv/app`. (`root`
 * itself is a directory, refused next as "not a regular file".)
 */
function isInside(real: Buffer, root: Buffer): boolean {
  if (real.length < root.length || real.compare(root, 0, root.length, 0, root.length) !== 0) return false;
  return real.length === root.length || root[root.length - 1] === SLASH || real[root.length] === SLASH;
}

/** The path below `root` as text for the glob match (`sub/deep.py`). */
function relativeText(real: Buffer, root: Buffer): string {
  const start = root[root.length - 1] === SLASH ? root.length : root.length + 1;
  return real.toString('utf8', Math.min(start, real.length));
}

function refused(reason: string): ScriptResolution {
  return { ok: false, status: 403, event: 'script refused', reason };
}

function notFound(reason: string): ScriptResolution {
  return { ok: false, status: 404, event: 'script not found', reason };
}

/**
 * Decides whether a request may reach a pool whose scripts are not files (`runtime =
 * "handler"`: one module answers every path, e.g. an Express route `/users/42`). The same
 * checks as {@link resolveScript} without the file system: bytes, absolute, the normalized
 * path (`.` and `..` folded, `//` joined) inside `root` or equal to it, and `match` (default `**`).
 * @returns the normalized path as `scriptFilename`, or the refusal (403).
 * @see RFC 3875 §3.3 (script-URI)
 */
export function resolveVirtualScript(scriptFilename: Buffer, pathInfo: Buffer, rules: ScriptRules): ScriptResolution {
  const path = stripProxyPrefix(scriptFilename);
  const bad = checkPath(path, pathInfo);
  if (bad !== undefined) return bad;
  const normal = normalize(path);
  const root = bytesOfRoot(rules.root);
  if (!isInside(normal, root)) return refused(`outside root ${rules.root}: ${text(normal)}`);
  const relative = relativeText(normal, root);
  if (relative !== '' && !matcherFor(rules.match)(relative)) {
    return refused(`not matched: ${text(normal)} (match ${rules.match.join(', ')})`);
  }
  return { ok: true, scriptFilename: normal, pathInfo };
}

/**
 * `path.posix.normalize` on bytes, for an absolute path: `.` and empty segments dropped, `..`
 * folding the segment before it (never above `/`), a trailing slash kept.
 */
function normalize(path: Buffer): Buffer {
  // Nothing to fold (no `//`, no `.` segment): the path itself, no copy.
  if (path.indexOf('//') === -1 && path.indexOf('/.') === -1) return path;
  const segments: Buffer[] = [];
  let start = 1;
  while (start <= path.length) {
    let end = path.indexOf(SLASH, start);
    if (end === -1) end = path.length;
    const segment = path.subarray(start, end);
    if (segment.length === 2 && segment[0] === 0x2e && segment[1] === 0x2e) segments.pop();
    else if (segment.length > 0 && !(segment.length === 1 && segment[0] === 0x2e)) segments.push(segment);
    start = end + 1;
  }
  const parts: Buffer[] = [];
  for (const segment of segments) parts.push(SLASH_BUFFER, segment);
  const trailing = path.length > 1 && path[path.length - 1] === SLASH && segments.length > 0;
  if (trailing) parts.push(SLASH_BUFFER);
  return parts.length === 0 ? SLASH_BUFFER : Buffer.concat(parts);
}

const SLASH_BUFFER = Buffer.from('/');
