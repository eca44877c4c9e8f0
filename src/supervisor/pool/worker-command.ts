// This file implements the command line of a pool's worker process from the perspective of
// the supervisor that spawns it: a Node worker (the built `worker/main.js`) for the `node` and
// `handler` runtimes, and for `runtime = "python"` the python worker itself (`worker.py`, run
// by the pool's `python.executable`), so a python request crosses no Node process between the
// supervisor and the script (issue 13). An `exec` pool gets the python worker too (it starts
// each script with posix_spawn: no 50 MB Node process per slot, no fork of one per request)
// unless `exec.worker = "node"`, or `python.executable` is not found. Both speak the same protocol:
// FastCGI on fd 3, control messages as JSON lines on the control channel (the fd named by the
// worker's first argument: worker/control-channel.ts).
import { realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { findExecutable } from '../../cli/commands/check-pools.ts';
import type { PoolConfig, PoolUser } from '../../config/schema.ts';
import { SERVER_SOFTWARE } from '../../version.ts';

/** A program and its arguments. */
export interface WorkerCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * The python worker's flags: `-E` (no PYTHON* variables: those are the scripts', given to the
 * runners), `-S` (no `site`: the worker imports nothing from site-packages, and skipping it
 * saves memory and start time), `-B` (no bytecode written beside an installed package).
 */
export const PYTHON_WORKER_FLAGS = ['-E', '-S', '-B'] as const;

/**
 * The Node worker's V8 flags: `--no-memory-reducer`. V8's memory reducer runs up to three
 * "reduce" mark-compacts once allocation slows after a busy phase (a worker going idle after a
 * burst); they drop the maps that only the finished requests' objects had, and every optimized
 * function that relied on one is thrown away ("weak objects"). The next burst then runs in the
 * interpreter and recompiles: measured on a handler pool's two workers, 107 functions
 * deoptimized and 233 recompiled, the first 3 s after 130 s of idle at 202 µs of CPU per
 * request against 109 µs hot (docs/PERFORMANCE.md "Session 25: idle costs a recompile"). A
 * worker's memory is the process manager's to control, as in PHP-FPM (`pm = ondemand`,
 * `pm.process_idle_timeout`, `pm.max_requests`); ordinary mark-compacts still run under load.
 */
export const NODE_WORKER_FLAGS = ['--no-memory-reducer'] as const;

/**
 * The worker of `pool`.
 * @param workerMain - absolute path of the built Node worker entry (`dist/worker/main.js`);
 *   the python worker sits beside the built python runtime (`runtimes/python/worker.py`).
 * @param controlFd - the worker's control channel (`worker/ipc.ts` `controlFd`)
 * @param searchPath - where a bare `python.executable` is looked for when an `exec` pool
 *   leaves `exec.worker` unset (the daemon's `PATH`, which the spawn searches too)
 * @returns for `runtime = "python"`, and `exec` with the python worker (see
 *   {@link usesPythonWorker}): `python.executable -E -S -B …/worker.py CONTROL_FD
 *   SERVER_SOFTWARE`; else `node NODE_WORKER_FLAGS… …/main.js CONTROL_FD`; with `dispatch = "direct"`, the
 *   listening socket's fd (CONTROL_FD + 1) last.
 */
export function workerCommand(
  pool: PoolConfig, workerMain: string, controlFd: number, searchPath: string | undefined = process.env.PATH,
): WorkerCommand {
  // A direct pool's worker keeps one more descriptor: the pool's listening socket (`listenFd`).
  const listen = pool.dispatch === 'direct' ? [String(controlFd + 1)] : [];
  if (usesPythonWorker(pool, searchPath)) {
    const script = join(dirname(workerMain), 'runtimes', 'python', 'worker.py');
    return { file: pool.python.executable, args: [...PYTHON_WORKER_FLAGS, script, String(controlFd), SERVER_SOFTWARE, ...listen] };
  }
  return { file: process.execPath, args: [...NODE_WORKER_FLAGS, workerMain, String(controlFd), ...listen] };
}

/**
 * True when `pool`'s workers are the python worker: `runtime = "python"`, or `exec` with
 * `exec.worker = "python"` or `dispatch = "direct"`, or `exec` without `exec.worker` when `python.executable` is found
 * (a path that is an executable file, or a bare name found so in `searchPath`) and the pool's
 * `user` may run it (the supervisor looks as root: a python under a 0700 home would make every
 * worker's spawn fail, where the Node worker runs).
 */
export function usesPythonWorker(pool: PoolConfig, searchPath: string | undefined): boolean {
  if (pool.runtime === 'python') return true;
  if (pool.runtime !== 'exec' || pool.exec.worker === 'node') return false;
  // A direct exec pool needs it (the Node exec worker accepts nothing itself): no fallback.
  if (pool.exec.worker === 'python' || pool.dispatch === 'direct') return true;
  const found = findExecutable(pool.python.executable, searchPath);
  return found !== undefined && executableBy(found, pool.user);
}

/**
 * True when `user` (no supplementary groups: workers drop them) may execute `file`: search
 * permission on every directory of its real path, and execute permission on the file itself,
 * by the owner, group or other bits that apply. No user (the daemon's own): true.
 */
export function executableBy(file: string, user: PoolUser | undefined): boolean {
  if (user === undefined || user.uid === 0) return true;
  try {
    let path = '';
    for (const part of realpathSync(file).split('/').filter((p) => p !== '')) {
      path += `/${part}`;
      if (!allowsExecute(statSync(path), user)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function allowsExecute(stats: Stats, user: PoolUser): boolean {
  const shift = stats.uid === user.uid ? 6 : stats.gid === user.gid ? 3 : 0;
  return ((stats.mode >> shift) & 0o1) !== 0;
}
