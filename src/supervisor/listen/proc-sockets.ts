// This file implements the lookup of a process's own sockets from the perspective of the
// supervisor finding its listening socket's descriptor number (listen-holder.ts): the socket
// inodes of /proc/self/fd, and the kernel's tables of listening sockets (/proc/net/unix,
// /proc/net/tcp, /proc/net/tcp6), matched by inode.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { ListenAddress } from '../../config/schema.ts';

/** The files read (injected in tests). */
export interface ProcFiles {
  /** Descriptor numbers of this process (`/proc/self/fd`). */
  fds(): readonly string[];
  /** Where a descriptor points (`socket:[INODE]` for a socket), or undefined if gone. */
  link(fd: string): string | undefined;
  /** A /proc/net table's text. */
  table(name: 'unix' | 'tcp' | 'tcp6'): string;
}

/** The real /proc. */
export const PROC: ProcFiles = {
  fds: () => readdirSync('/proc/self/fd'),
  link: (fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return undefined;
    }
  },
  table: (name) => readFileSync(`/proc/net/${name}`, 'latin1'),
};

/** This process's sockets: inode → descriptor number. */
export function ownSocketFds(proc: ProcFiles): Map<string, number> {
  const own = new Map<string, number>();
  for (const fd of proc.fds()) {
    const inode = /^socket:\[(\d+)\]$/.exec(proc.link(fd) ?? '')?.[1];
    if (inode !== undefined) own.set(inode, Number(fd));
  }
  return own;
}

/** `__SO_ACCEPTCON` in /proc/net/unix's Flags column: a listening unix socket. */
const UNIX_ACCEPTCON = 0x10000;
/** `TCP_LISTEN` in /proc/net/tcp's `st` column. */
const TCP_LISTEN = '0A';

/**
 * Inodes of the sockets listening on `address` (any process): unix sockets bound to its path,
 * TCP sockets on its port (the host is not compared: the caller keeps its own sockets only).
 */
export function listeningInodes(address: ListenAddress, proc: ProcFiles): string[] {
  if (address.kind === 'unix') {
    return rows(proc.table('unix')).filter((f) => f.length >= 8 && f.slice(7).join(' ') === address.path
      && (Number.parseInt(f[3] ?? '0', 16) & UNIX_ACCEPTCON) !== 0).map((f) => f[6] ?? '');
  }
  if (address.kind !== 'tcp') return [];
  return [...rows(proc.table('tcp')), ...rows(safe(() => proc.table('tcp6')))]
    .filter((f) => f.length >= 10 && f[3] === TCP_LISTEN && Number.parseInt(f[1]?.split(':')[1] ?? '', 16) === address.port)
    .map((f) => f[9] ?? '');
}

function rows(text: string): string[][] {
  return text.split('\n').slice(1).map((line) => line.trim().split(/\s+/)).filter((f) => f.length > 1);
}

function safe(read: () => string): string {
  try {
    return read();
  } catch {
    return '';
  }
}
