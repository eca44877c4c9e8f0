// This file implements the check made before a unix socket file is replaced, from the
// perspective of a daemon already serving on it: a socket file is removed only when it is
// stale (connect(2) is refused: nobody listens). Before, a second `cgi-fpm start` on the same
// config unlinked the live daemon's pool and control sockets and took over, leaving the first
// daemon running and unreachable (issue 10, item 6). The pid named in the refusal is found in
// /proc (the listening socket's inode in /proc/net/unix, then the process holding it), when
// this process may read it.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { DaemonError, ErrorCode } from '../../errors.ts';

/** How long a connect may take before the socket counts as live (a full backlog, a hung owner). */
const PROBE_TIMEOUT_MS = 2000;

/** What a connect(2) to a unix socket file says about it. */
export type SocketProbe = 'live' | 'stale' | 'absent';

/**
 * Connects to the unix socket at `path` and hangs up: `stale` when the connection is refused
 * (no listener: a leftover file), `absent` when there is no file, else `live` (it answered,
 * took too long, or may not be probed: it cannot be shown stale).
 */
export async function probeUnixSocket(path: string): Promise<SocketProbe> {
  return new Promise<SocketProbe>((resolve) => {
    const socket = connect({ path });
    const done = (probe: SocketProbe): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    const timer = setTimeout(() => { done('live'); }, PROBE_TIMEOUT_MS);
    socket.once('connect', () => { done('live'); });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      done(err.code === 'ECONNREFUSED' ? 'stale' : err.code === 'ENOENT' ? 'absent' : 'live');
    });
  });
}

/**
 * The pid of a process holding the listening unix socket bound at `path`, when /proc shows
 * it to this process (root sees all); `undefined` otherwise.
 */
export async function socketOwnerPid(path: string): Promise<number | undefined> {
  let table: string;
  try {
    table = await readFile('/proc/net/unix', 'latin1');
  } catch {
    return undefined;
  }
  // Num RefCount Protocol Flags Type St Inode Path; a listener has St 01 (SS_UNCONNECTED).
  const inodes = new Set<string>();
  for (const line of table.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 8 && fields.slice(7).join(' ') === path && fields[5] === '01' && fields[6] !== undefined) {
      inodes.add(`socket:[${fields[6]}]`);
    }
  }
  if (inodes.size === 0) return undefined;
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (inodes.has(target)) return Number(pid);
    }
  }
  return undefined;
}

/**
 * Refuses to replace a live unix socket.
 * @returns whether a stale socket file is there to remove (false: no file)
 * @throws DaemonError `ERR_SOCKET_IN_USE` naming, when found, the pid (the callers' messages
 *   name the path: `listen: PATH: …`, `control: cannot listen on PATH: …`)
 */
export async function assertSocketFree(path: string): Promise<boolean> {
  const probe = await probeUnixSocket(path);
  if (probe !== 'live') return probe === 'stale';
  const pid = await socketOwnerPid(path);
  const owner = pid === undefined ? '' : ` (pid ${pid})`;
  throw new DaemonError(ErrorCode.ERR_SOCKET_IN_USE,
    `in use: something answers on it${owner}: another cgi-fpm on this config? stop it first, or choose another path`);
}
