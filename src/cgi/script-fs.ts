// This file implements the file-system calls of script resolution from the perspective of the
// supervisor's event loop, which resolves every request's SCRIPT_FILENAME: made synchronously,
// as nginx makes its stat() and open() calls on its event loop, because a local lookup takes
// microseconds while a trip through libuv's thread pool costs a thread hand-off and two wake-ups
// per call (measured: 2 hand-offs per request were ~37 % of the supervisor's CPU).
import { accessSync, realpathSync, statSync } from 'node:fs';
import type { ScriptFs } from './script.ts';

/** Runs `call` now; its exception becomes the returned promise's rejection. */
function settle<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * {@link ScriptFs} over `node:fs`'s synchronous calls (`realpath(3)`, `stat(2)`, `access(2)`),
 * on paths as bytes (`Buffer` paths reach the system calls unchanged), with their errors
 * (carrying `code`: ENOENT, EACCES…) as rejections. A path on a hung network file system
 * blocks the caller, as it would block nginx; keep pool roots on local disks.
 * @see resolveScript
 */
export const syncScriptFs: ScriptFs = {
  realpath: (path, options) => settle(() => realpathSync.native(path, options)),
  stat: (path) => settle(() => statSync(path)),
  access: (path, mode) => settle(() => { accessSync(path, mode); }),
};
