// This file implements "the checked file is the executed file" from the perspective of a worker
// about to run the script the supervisor resolved: the supervisor checked a real path under the
// pool's root, but between its check and the worker's open a component under the root can be
// swapped for a symlink to elsewhere (`renameat2(RENAME_EXCHANGE)` in a loop: 18–25 % of
// requests ran an outside script, issue 10). So the worker opens the path once and asks the
// kernel what it opened (`/proc/self/fd/N`): it must be that same real path, a regular file.
// The runtimes then read (`node`) or execute (`exec`) through that descriptor, never the path;
// the python runner, a separate process, opens and checks the same way itself.
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, type Stats } from 'node:fs';

/**
 * `O_PATH` (Linux): a descriptor that names the file without opening it for reading, which is
 * all `execve` of `/proc/self/fd/N` needs (no read permission, no side effect of opening a
 * device or a FIFO swapped in). Node does not export it; its value is the same on x86-64 and arm64.
 */
const O_PATH = 0o10000000;

/** How a script file is opened: to execute it (`exec`) or to read its code (`node`, `python`). */
export type ScriptUse = 'execute' | 'read';

/**
 * A script opened and checked: its descriptor (close it after the run, unless `kept`) and its
 * `fstat`.
 */
export interface OpenedScript {
  readonly fd: number;
  readonly stats: Stats;
  /** The descriptor belongs to a cache (`ScriptDescriptors`): the caller must not close it. */
  readonly kept?: true;
}

/** Why an opened script was refused: the status to answer and the reason to log. */
export interface ScriptMismatch {
  readonly status: 403 | 404;
  readonly reason: string;
}

/**
 * Opens `path` (a real path: no symlink in it, as the supervisor's `realpath` gave it) and checks
 * that the kernel opened exactly that path, a regular file. Never blocks (`O_NONBLOCK`, or
 * `O_PATH` to execute), never follows a symlink in the last component.
 * @returns the opened script, or the refusal (the descriptor is then closed)
 */
export function openScript(path: Buffer, use: ScriptUse): OpenedScript | ScriptMismatch {
  const flags = use === 'execute'
    ? O_PATH | constants.O_NOFOLLOW
    : constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | constants.O_NOFOLLOW;
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 404, reason: 'gone since it was resolved' };
    return { status: 403, reason: `cannot open: ${String(code)}` };
  }
  try {
    const opened = readlinkSync(`/proc/self/fd/${String(fd)}`, { encoding: 'buffer' });
    if (!opened.equals(path)) {
      closeSync(fd);
      return { status: 403, reason: `changed since it was resolved: the path now leads to ${opened.toString()}` };
    }
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      closeSync(fd);
      return { status: 403, reason: 'changed since it was resolved: not a regular file' };
    }
    return { fd, stats };
  } catch (err) {
    closeSync(fd);
    return { status: 403, reason: `cannot check: ${(err as Error).message}` };
  }
}

/** Mode bits that let a group or others create, remove or rename entries of a directory. */
const GROUP_OTHER_WRITE = 0o022;
const STICKY = 0o1000;

/**
 * True when nobody but root can change which file `path` names: every directory from `/` to
 * the script's own is root's and writable by root only (a sticky directory such as `/tmp` counts
 * when the entry under it is root's: others may not rename it). Then the path, opened and checked
 * once, stays the file it named, and `exec` can run it by path (so `$0` is its real name).
 * ACLs are not read: a directory that grants writing through an ACL alone is missed.
 */
export function pathSwapSafe(path: Buffer): boolean {
  const text = path.toString('latin1');
  let dir = '/';
  let dirStats: Stats;
  try {
    dirStats = lstatSync('/');
  } catch {
    return false;
  }
  for (const part of text.split('/').filter((p) => p !== '')) {
    const entry = dir === '/' ? `/${part}` : `${dir}/${part}`;
    let entryStats: Stats;
    try {
      entryStats = lstatSync(Buffer.from(entry, 'latin1'));
    } catch {
      return false;
    }
    if (!rootOnly(dirStats, entryStats)) return false;
    dir = entry;
    dirStats = entryStats;
  }
  return true;
}

/** `dir` cannot have `entry` renamed by anyone but root. */
function rootOnly(dir: Stats, entry: Stats): boolean {
  if (dir.uid !== 0) return false;
  if ((dir.mode & GROUP_OTHER_WRITE) === 0) return true;
  return (dir.mode & STICKY) !== 0 && entry.uid === 0;
}
