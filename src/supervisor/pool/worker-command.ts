// This file implements the command line of a pool's worker process from the perspective of
// the supervisor that spawns it: a Node worker (the built `worker/main.js`) for the `exec`,
// `node` and `handler` runtimes, and for `runtime = "python"` the python worker itself
// (`worker.py`, run by the pool's `python.executable`), so a python request crosses no Node
// process between the supervisor and the script (issue 13). Both speak the same protocol:
// FastCGI on fd 3, control messages as JSON lines on the control channel (the fd named by the
// worker's first argument: worker/control-channel.ts).
import { dirname, join } from 'node:path';
import type { PoolConfig } from '../../config/schema.ts';
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
 * The worker of `pool`.
 * @param workerMain - absolute path of the built Node worker entry (`dist/worker/main.js`);
 *   the python worker sits beside the built python runtime (`runtimes/python/worker.py`).
 * @param controlFd - the worker's control channel (`worker/ipc.ts` `controlFd`)
 * @returns for `runtime = "python"`: `python.executable -E -S -B …/worker.py CONTROL_FD
 *   SERVER_SOFTWARE`; else `node …/main.js CONTROL_FD`.
 */
export function workerCommand(pool: PoolConfig, workerMain: string, controlFd: number): WorkerCommand {
  if (pool.runtime === 'python') {
    const script = join(dirname(workerMain), 'runtimes', 'python', 'worker.py');
    return { file: pool.python.executable, args: [...PYTHON_WORKER_FLAGS, script, String(controlFd), SERVER_SOFTWARE] };
  }
  return { file: process.execPath, args: [workerMain, String(controlFd)] };
}
