// This file implements a pool's identity from the perspective of a standalone worker
// (`cgi-fpm worker`) that no supervisor forked: it takes the pool's `umask`, and its `user` and
// `group` itself when started as root (the supervisor gives them to its workers at fork), or
// refuses to serve a pool whose user it cannot become.
import type { PoolConfig } from '../config/schema.ts';
import { DaemonError, ErrorCode } from '../errors.ts';

/**
 * Applies `pool.umask`, then `pool.user`: as root, drops the supplementary groups and sets the
 * gid, then the uid (what libuv does for supervised workers); as that very uid and gid, nothing
 * to change. Call it before the runtime loads, so the runtime and every script inherit it.
 *
 * @param env - the environment scripts of `clear_env = false` pools inherit.
 * @returns `env` with the pool user's `HOME`, `USER` and `LOGNAME` when the pool has a `user`.
 * @throws DaemonError `ERR_POOL_USER` when the pool has a `user` this non-root process is not.
 * @see PHP-FPM `user`, `group`; umask(2)
 */
export function adoptPoolIdentity(pool: PoolConfig, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (pool.umask !== undefined) process.umask(pool.umask);
  const user = pool.user;
  if (user === undefined) return env;
  const uid = process.geteuid?.() ?? -1;
  const gid = process.getegid?.() ?? -1;
  if (uid === 0) {
    process.setgroups?.([]);
    process.setgid?.(user.gid);
    process.setuid?.(user.uid);
  } else if (uid !== user.uid || gid !== user.gid) {
    throw new DaemonError(
      ErrorCode.ERR_POOL_USER,
      `worker: pool ${JSON.stringify(pool.name)}: user ${JSON.stringify(user.name)} (uid ${user.uid}, gid ${user.gid}): ` +
        `this worker runs as uid ${uid}, gid ${gid}, not root, and cannot switch to it; ` +
        `start it as that user (Apache: suexec) or remove user`,
    );
  }
  // A uid without a passwd entry has no home: the launcher's would be wrong, so none.
  const { HOME: _launcherHome, ...rest } = env;
  const home = user.home === undefined ? {} : { HOME: user.home };
  return { ...rest, USER: user.name, LOGNAME: user.name, ...home };
}
