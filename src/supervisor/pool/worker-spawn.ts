// This file implements the fork of one worker process, from the perspective of the pool that
// needs one: `node WORKER_MAIN FD` (or the python worker: `workerCommand`) with its FastCGI channels (fds 3…) and its control channel
// (fd FD, after them) as socketpairs, no Node IPC, as the pool's `user` (uid, gid and its
// HOME/USER/LOGNAME) when it has one.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import type { PoolConfig } from '../../config/schema.ts';
import { channelCount } from '../../worker/ipc.ts';
import { workerIdentity } from './pool-identity.ts';
import { workerCommand } from './worker-command.ts';

/** `child_process.spawn`'s shape, injected so tests and the CLI choose. */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/**
 * Forks a worker of `pool` (a direct pool's with `listenSocket` as its fd `controlFd + 1`) running `workerMain` with its control channel on `fd`
 * (`controlFd(pool)`); the child's `stdio[3…]` are its channels, `stdio[fd]` its control.
 */
export function spawnWorker(
  spawn: SpawnFn, pool: PoolConfig, workerMain: string, fd: number, env: NodeJS.ProcessEnv, listenSocket?: Socket,
): ChildProcess {
  const command = workerCommand(pool, workerMain, fd);
  // `dispatch = "direct"`: the held listening socket, on the fd after the control channel.
  const listen: (Socket | 'ignore')[] = pool.dispatch === 'direct' ? [listenSocket ?? 'ignore'] : [];
  // No Node IPC ('ipc'): it would put process.send & co. where a node pool's scripts run.
  return spawn(command.file, [...command.args], {
    stdio: ['ignore', 'inherit', 'inherit', ...Array<'pipe'>(channelCount(pool) + 1).fill('pipe'), ...listen],
    // The pool's `user`: uid, gid and its HOME/USER/LOGNAME (env unchanged without one).
    ...workerIdentity(pool, env),
  });
}
