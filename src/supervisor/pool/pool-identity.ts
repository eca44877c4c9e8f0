// This file implements a pool's identity from the perspective of the supervisor that forks its
// workers: the `uid`/`gid` spawn options (libuv calls setgroups(0), setgid, setuid in the
// child before exec, so supplementary groups are dropped), the user's HOME/USER/LOGNAME in the
// worker's environment, and the refusal to start a pool whose user a non-root daemon cannot take.
import type { SpawnOptions } from 'node:child_process';
import type { PoolConfig } from '../../config/schema.ts';
import { DaemonError, ErrorCode } from '../../errors.ts';

/** The daemon's own effective ids. */
export interface ProcessIds {
  readonly uid: number;
  readonly gid: number;
}

/** This process's effective uid and gid (`-1` where the platform has none). */
export function currentIds(): ProcessIds {
  return { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 };
}

/**
 * What a daemon running as `self` cannot do for `pools`: fork workers as another user. Root
 * can take any uid and gid; another user only its own pair (setuid/setgid to oneself).
 *
 * @returns one message per pool it cannot start, naming the pool, the user and the daemon's uid.
 */
export function poolUserProblems(pools: readonly PoolConfig[], self: ProcessIds): string[] {
  if (self.uid === 0) return [];
  return pools.flatMap((pool) => {
    const user = pool.user;
    if (user === undefined || (user.uid === self.uid && user.gid === self.gid)) return [];
    return [
      `pool ${JSON.stringify(pool.name)}: user ${JSON.stringify(user.name)} (uid ${user.uid}, gid ${user.gid}): ` +
        `the daemon runs as uid ${self.uid}, not root, and cannot switch its workers to it; start cgi-fpm as root or remove user`,
    ];
  });
}

/**
 * Throws when some pool's user cannot be taken (see {@link poolUserProblems}).
 * @throws DaemonError `ERR_POOL_USER` listing every such pool, one per line.
 */
export function assertPoolUsers(pools: readonly PoolConfig[], self: ProcessIds = currentIds()): void {
  const problems = poolUserProblems(pools, self);
  if (problems.length > 0) throw new DaemonError(ErrorCode.ERR_POOL_USER, problems.map((p) => `start: ${p}`).join('\n'));
}

/**
 * The identity part of a worker's spawn options: `uid` and `gid` when the pool has a `user`,
 * and an environment whose `HOME`, `USER` and `LOGNAME` are that user's (scripts of
 * `clear_env = false` pools see them; the daemon's own would point at root's home).
 *
 * @param env - the daemon's environment the worker would otherwise get unchanged.
 */
export function workerIdentity(pool: PoolConfig, env: NodeJS.ProcessEnv): Pick<SpawnOptions, 'uid' | 'gid' | 'env'> {
  const user = pool.user;
  if (user === undefined) return { env };
  // A uid without a passwd entry has no home: the daemon's (root's) would be wrong, so none.
  const { HOME: _daemonHome, ...rest } = env;
  const home = user.home === undefined ? {} : { HOME: user.home };
  return { uid: user.uid, gid: user.gid, env: { ...rest, USER: user.name, LOGNAME: user.name, ...home } };
}
