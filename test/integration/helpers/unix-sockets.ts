// This file implements connection counting from the perspective of a keep-alive test: which
// connections a unix listening socket has accepted and still holds open, read from the kernel
// (/proc/net/unix), so the test needs no hook in the daemon.
import { readFileSync } from 'node:fs';

/**
 * Inode numbers of the connected sockets accepted on the unix listener bound to `path`
 * (state 03 = connected; the listener itself is state 01). Linux only.
 */
export function acceptedConnections(path: string): number[] {
  const out: number[] = [];
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path
    if (fields[7] === path && fields[5] === '03') out.push(Number(fields[6]));
  }
  return out;
}
