// This file implements the checks `cgi-fpm check` makes beyond the config's own validation,
// from the perspective of an operator whose config loads but would not serve as meant: a
// `python.executable` that is not there (the daemon would start and answer 503 to every
// request), a pool whose `match` an earlier pool on the same socket shadows (its requests go to
// the earlier pool, silently), and `root = "/"` (the whole host in a pool's reach). Issue 10,
// item 7.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative, sep } from 'node:path';
import type { DaemonConfig, PoolConfig } from '../../config/schema.ts';
import { formatListenAddress } from '../../config/schema.ts';

/** What `check` found: problems fail the check (exit 78), warnings are printed. */
export interface PoolCheck {
  readonly problems: string[];
  readonly warnings: string[];
}

/** True when `path` is an executable regular file. */
function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `name` as execvp(3) finds it: a path with a `/` as is, else the first hit in `PATH`. */
export function findExecutable(name: string, path: string | undefined): string | undefined {
  if (name.includes('/')) return executable(name) ? name : undefined;
  for (const dir of (path ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (dir !== '' && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** True when `inner` is `outer` or below it. */
function within(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/** The earlier pool on the same address that takes every request `pool` would get, if any. */
function shadowedBy(pool: PoolConfig, earlier: readonly PoolConfig[]): PoolConfig | undefined {
  const address = formatListenAddress(pool.listen.address);
  return earlier.find((e) => formatListenAddress(e.listen.address) === address && within(e.root, pool.root)
    && (e.match.includes('**') || (e.root === pool.root && pool.match.every((g) => e.match.includes(g)))));
}

/**
 * Checks each pool: `python.executable` found (in `PATH` for a bare name) and executable, for
 * python pools and `exec.worker = "python"`; `match` not shadowed by an earlier pool on the same listen address whose root
 * holds this pool's root and whose globs take what this pool's take (`**`, or the same globs
 * on the same root); `root` not `/`.
 * @param path - the `PATH` the daemon's workers get (the daemon's own)
 */
export function checkPools(config: DaemonConfig, path: string | undefined): PoolCheck {
  const problems: string[] = [];
  const warnings: string[] = [];
  config.pools.forEach((pool, i) => {
    const where = `config: ${config.file}: pool ${JSON.stringify(pool.name)}`;
    const python = pool.runtime === 'python' || (pool.runtime === 'exec' && pool.exec.worker === 'python');
    if (python && findExecutable(pool.python.executable, path) === undefined) {
      const how = pool.python.executable.includes('/') ? 'is not an executable file' : `is not found in PATH (${path ?? ''})`;
      problems.push(`${where}: python.executable: ${JSON.stringify(pool.python.executable)} ${how}`);
    }
    const shadow = shadowedBy(pool, config.pools.slice(0, i));
    if (shadow !== undefined) {
      warnings.push(`${where}: match ${JSON.stringify(pool.match)} is shadowed by pool ${JSON.stringify(shadow.name)} `
        + `(earlier on ${formatListenAddress(pool.listen.address)}, root ${shadow.root}, match ${JSON.stringify(shadow.match)}): `
        + 'its requests go there; put the narrower pool first');
    }
    if (pool.root === '/') warnings.push(`${where}: root = "/": every file on the host is in this pool's reach; give it the scripts' directory`);
  });
  return { problems, warnings };
}
