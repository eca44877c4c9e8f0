// This file implements the closing of descriptors a worker inherited by accident, from the
// perspective of a worker that is about to start scripts: a descriptor whoever started the daemon
// left open without close-on-exec (a shell's `exec 7<file`, a leaked socket) passes to the
// supervisor, to every worker, and from there to every script `spawn` starts (libuv closes
// nothing in the child; Node marks only the inherited descriptors 0–15, and those after them up
// to the first gap, close-on-exec at start). Node has no `fcntl`, so each such descriptor is
// closed here, once, before the runtime loads (issue 10).
import { closeSync, readdirSync, readFileSync } from 'node:fs';

/** `O_CLOEXEC` as `/proc/PID/fdinfo/N` shows it in its octal `flags:` line. */
const O_CLOEXEC = 0o2000000;

/** The process's descriptor table as {@link closeInheritedFds} sees it (injected in tests). */
export interface FdTable {
  /** The open descriptors' numbers (`/proc/self/fd`). */
  list(): readonly string[];
  /** A descriptor's open flags (`/proc/self/fdinfo/N`), `undefined` when it is gone. */
  flags(fd: number): number | undefined;
  close(fd: number): void;
}

const PROC_SELF: FdTable = {
  list: () => readdirSync('/proc/self/fd'),
  flags: fdFlags,
  close: closeSync,
};

/**
 * Closes every descriptor above `lastOwnFd` that lacks close-on-exec (0–2 and the worker's own
 * channels 3…`lastOwnFd` are kept; Node's own descriptors are all close-on-exec).
 * @returns the descriptors closed
 */
export function closeInheritedFds(lastOwnFd: number, table: FdTable = PROC_SELF): number[] {
  const closed: number[] = [];
  let names: readonly string[];
  try {
    names = table.list();
  } catch {
    return closed; // no /proc: nothing to learn, nothing closed
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2 || fd <= lastOwnFd) continue;
    const flags = table.flags(fd);
    if (flags === undefined || (flags & O_CLOEXEC) !== 0) continue;
    try {
      table.close(fd);
      closed.push(fd);
    } catch {
      // EBADF: it was the directory listing's own descriptor, already closed.
    }
  }
  return closed;
}

function fdFlags(fd: number): number | undefined {
  try {
    const match = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${String(fd)}`, 'latin1'));
    return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 8);
  } catch {
    return undefined;
  }
}
