// This file implements script resolution and containment from the perspective of the gateway
// deciding whether the SCRIPT_FILENAME a web server sent may run: bytes, root, file type,
// `match` globs, executable bit. Pure: the file system is injected (`node:fs/promises` fits).
import { posix } from 'node:path';
import picomatch from 'picomatch';

/**
 * The file-system calls resolution needs; `node:fs/promises` satisfies it as is, tests may
 * pass a fake.
 */
export interface ScriptFs {
  /** Resolves symlinks, `.` and `..`; rejects with `ENOENT`/`ENOTDIR` for a missing path. */
  realpath(path: string): Promise<string>;
  /** Follows symlinks; `mode` holds the permission bits. */
  stat(path: string): Promise<{ isFile(): boolean; mode: number }>;
  /** Rejects unless the calling process has the `mode` access (`X_OK` = 1) to `path`. */
  access(path: string, mode?: number): Promise<void>;
}

/** Which scripts a pool may run. */
export interface ScriptRules {
  /** Absolute real path (symlinks resolved) of the directory scripts must lie in. */
  readonly root: string;
  /**
   * picomatch globs the path relative to `root` must match; a glob without `/` is matched
   * against the basename. Dot files and dot directories match only globs that name the dot.
   * @defaultValue `['**']` (the config's default)
   */
  readonly match: readonly string[];
  /** When true the file must be executable by the daemon (`access(X_OK)`); `exec` pools. */
  readonly requireExecutable: boolean;
}

/**
 * The outcome of {@link resolveScript}: the real script path and its path-info, or the status
 * to answer with the log event and the exact cause (e.g. `outside root /srv/blog: /etc/passwd`).
 */
export type ScriptResolution =
  | { ok: true; scriptFilename: string; pathInfo: string }
  | { ok: false; status: 403 | 404; event: 'script not found' | 'script refused'; reason: string };

/** `X_OK` from `<unistd.h>`: the same value on every POSIX system (and in `fs.constants`). */
const X_OK = 1;

/** NUL ends a C string early, CR and LF split log lines and headers. */
const BAD_BYTES = /[\0\r\n]/;

/** Apache mod_proxy_fcgi's prefix on `SCRIPT_FILENAME` (unless `ProxyFCGIBackendType GENERIC`). */
const PROXY_PREFIX = /^proxy:(?:fcgi|balancer):\/\/[^/]*/i;

/** Compiled `match` lists, per list (pool configs are frozen and long-lived). */
const matchers = new WeakMap<readonly string[], (relative: string) => boolean>();

/**
 * Removes Apache's `proxy:fcgi://host[:port]` (or `proxy:balancer://name`) prefix, and with it
 * the `?query` Apache appends after a proxying RewriteRule, as PHP-FPM does. Any other string
 * is returned unchanged.
 * @example `stripProxyPrefix('proxy:fcgi://localhost:9000/srv/cgi/a.py')` -> `/srv/cgi/a.py`
 * @see Apache mod_proxy_fcgi `ProxyFCGIBackendType`; php-src `sapi/fpm/fpm/fpm_main.c`
 */
export function stripProxyPrefix(scriptFilename: string): string {
  const prefix = PROXY_PREFIX.exec(scriptFilename);
  if (prefix === null) return scriptFilename;
  const path = scriptFilename.slice(prefix[0].length);
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
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
 * @param scriptFilename - `SCRIPT_FILENAME` as sent (an Apache proxy prefix is stripped).
 * @param pathInfo - `PATH_INFO` as sent, `''` when absent.
 * @param rules - the pool's root, globs and executable requirement.
 * @param fs - the injected file system.
 * @returns the real path and path-info, or the refusal; never rejects for a missing or
 *   forbidden path.
 * @throws the `fs` error itself for failures other than ENOENT, ENOTDIR, ENAMETOOLONG,
 *   EACCES, EPERM and ELOOP (e.g. EIO): the caller answers 500/502.
 * @see RFC 3875 §3.3 (script-URI), §4.1.5 (PATH_INFO), §8.1 (path segments), §9.8 (relative paths)
 */
export async function resolveScript(
  scriptFilename: string,
  pathInfo: string,
  rules: ScriptRules,
  fs: ScriptFs,
): Promise<ScriptResolution> {
  const path = stripProxyPrefix(scriptFilename);
  if (BAD_BYTES.test(path)) return refused(`bad bytes in path: SCRIPT_FILENAME ${JSON.stringify(path)}`);
  if (BAD_BYTES.test(pathInfo)) return refused(`bad bytes in path: PATH_INFO ${JSON.stringify(pathInfo)}`);
  if (path === '') return notFound('no SCRIPT_FILENAME');
  if (!posix.isAbsolute(path)) return refused(`path not absolute: ${path}`);
  const found = await findScript(path, pathInfo, fs);
  if (!found.ok) return found;
  const real = found.scriptFilename;
  if (!isInside(real, rules.root)) return refused(`outside root ${rules.root}: ${real}`);
  const stats = await fs.stat(real).catch((err: unknown) => classify(err, real));
  if ('ok' in stats) return stats;
  if (!stats.isFile()) return refused(`not a regular file: ${real}`);
  if (!matcherFor(rules.match)(posix.relative(rules.root, real))) {
    return refused(`not matched: ${real} (match ${rules.match.join(', ')})`);
  }
  if (rules.requireExecutable) {
    const denied = await fs.access(real, X_OK).then(
      () => undefined,
      (err: unknown) =>
        isCode(err, 'EACCES', 'EPERM') ? refused(`not executable: ${real}`) : classify(err, real),
    );
    if (denied !== undefined) return denied;
  }
  return found;
}

/**
 * The real path of `path`, or of its longest leading part that is a regular file (the rest
 * becoming the path-info) when `path` does not exist and no path-info was sent. When path-info
 * was sent and `path` ends with it (Apache mod_proxy_fcgi with `proxy-fcgi-pathinfo=first-dot`
 * sends `/srv/cgi/a.py/x` and `PATH_INFO=/x`, as PHP-FPM's `cgi.fix_pathinfo` expects), that
 * suffix alone is cut.
 */
async function findScript(path: string, pathInfo: string, fs: ScriptFs): Promise<ScriptResolution> {
  const repeatsPathInfo = pathInfo !== '' && path.length > pathInfo.length && path.endsWith(pathInfo);
  let candidate = path;
  for (;;) {
    let real: string;
    try {
      real = await fs.realpath(candidate);
    } catch (err) {
      // Walk up one component: `/srv/cgi/a.py/x` fails with ENOTDIR, then `/srv/cgi/a.py` exists.
      const cut = pathInfo === '' ? candidate.lastIndexOf('/') : path.length - pathInfo.length;
      const walk = pathInfo === '' || (repeatsPathInfo && candidate === path);
      if (!isCode(err, 'ENOENT', 'ENOTDIR') || !walk || cut <= 0) return classify(err, path);
      candidate = candidate.slice(0, cut);
      continue;
    }
    if (candidate === path) return { ok: true, scriptFilename: real, pathInfo };
    const isFile = await fs.stat(real).then(
      (stats) => stats.isFile(),
      () => false,
    );
    if (!isFile) return notFound(`no such file: ${path}`);
    return { ok: true, scriptFilename: real, pathInfo: path.slice(candidate.length) };
  }
}

/** Turns an fs rejection into the answer it means, or rethrows what is not about the path. */
function classify(err: unknown, path: string): ScriptResolution {
  if (isCode(err, 'ENOENT', 'ENOTDIR', 'ENAMETOOLONG')) return notFound(`no such file: ${path}`);
  if (isCode(err, 'EACCES', 'EPERM')) return refused(`permission denied: ${path}`);
  if (isCode(err, 'ELOOP')) return refused(`symlink loop: ${path}`);
  throw err;
}

/** True when `err` carries one of the errno `codes` (`err.code`, as Node's fs errors do). */
function isCode(err: unknown, ...codes: string[]): boolean {
  if (typeof err !== 'object' || err === null || !('code' in err)) return false;
  return typeof err.code === 'string' && codes.includes(err.code);
}

/**
 * True when `real` is `root` or lies below it; `/srv/app2` is not inside `/srv/app`. (`root`
 * itself is a directory, refused next as "not a regular file".)
 */
function isInside(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/**
 * One matcher for a `match` list. picomatch's `basename` option applies to every pattern it
 * is given (4.0.7 tests even `sub/*.py` against the basename), so each glob is compiled on
 * its own: without `/` against the basename, with `/` against the path relative to root.
 */
function matcherFor(match: readonly string[]): (relative: string) => boolean {
  let matcher = matchers.get(match);
  if (matcher === undefined) {
    const tests = match.map((glob) => picomatch(glob, { basename: !glob.includes('/') }));
    matcher = (relative) => tests.some((test) => test(relative));
    matchers.set(match, matcher);
  }
  return matcher;
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
 * path (`..` folded) inside `root` or equal to it, and `match` (default `**`).
 * @returns the normalized path as `scriptFilename`, or the refusal (403).
 * @see RFC 3875 §3.3 (script-URI)
 */
export function resolveVirtualScript(scriptFilename: string, pathInfo: string, rules: ScriptRules): ScriptResolution {
  const path = stripProxyPrefix(scriptFilename);
  if (BAD_BYTES.test(path)) return refused(`bad bytes in path: SCRIPT_FILENAME ${JSON.stringify(path)}`);
  if (BAD_BYTES.test(pathInfo)) return refused(`bad bytes in path: PATH_INFO ${JSON.stringify(pathInfo)}`);
  if (path === '') return notFound('no SCRIPT_FILENAME');
  if (!posix.isAbsolute(path)) return refused(`path not absolute: ${path}`);
  const normal = posix.normalize(path);
  if (normal !== rules.root && !isInside(normal, rules.root)) return refused(`outside root ${rules.root}: ${normal}`);
  const relative = posix.relative(rules.root, normal);
  if (relative !== '' && !matcherFor(rules.match)(relative)) {
    return refused(`not matched: ${normal} (match ${rules.match.join(', ')})`);
  }
  return { ok: true, scriptFilename: normal, pathInfo };
}
