// This file implements the supervisor's listening sockets from the perspective of the web
// server that connects to them: one server per distinct address (pools may share one), unix
// sockets created with their parent directory and `listen.mode`, TCP on host:port, with
// `listen.backlog`; and the unix socket helpers the control socket shares (control.ts).
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { PoolConfig } from '../config/schema.ts';
import { formatListenAddress } from '../config/schema.ts';
import { DaemonError, ErrorCode } from '../errors.ts';

/** One opened listener and the pools that share it, in config order. */
export interface Listener {
  /** The address as written in the config (`/run/cgi-fpm/blog.sock`, `127.0.0.1:9001`). */
  readonly address: string;
  readonly pools: readonly PoolConfig[];
  readonly server: Server;
}

/** Groups pools by their `listen` address, keeping config order. */
export function groupByListen(pools: readonly PoolConfig[]): Map<string, PoolConfig[]> {
  const groups = new Map<string, PoolConfig[]>();
  for (const pool of pools) {
    const key = formatListenAddress(pool.listen.address);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [pool]);
    else group.push(pool);
  }
  return groups;
}

/**
 * Opens one listener for a group of pools sharing an address.
 * @throws DaemonError (`ERR_LISTEN`) naming the address when it cannot be bound.
 * @see PHP-FPM `listen`, `listen.mode`, `listen.backlog`
 */
export async function openListener(pools: readonly PoolConfig[], onConnection: (socket: Socket) => void): Promise<Listener> {
  const first = pools[0];
  if (first === undefined) throw new TypeError('listeners: openListener: no pools');
  const { address, mode, backlog } = first.listen;
  const text = formatListenAddress(address);
  const server = createServer({ noDelay: true }, onConnection);
  try {
    if (address.kind === 'unix') {
      await listenUnix(server, address.path, mode, backlog);
    } else {
      await listen(server, { host: address.host, port: address.port, backlog });
    }
  } catch (err) {
    server.close();
    throw new DaemonError(ErrorCode.ERR_LISTEN, `listen: ${text}: ${(err as Error).message}`, { cause: err });
  }
  return { address: text, pools, server };
}

/**
 * Stops accepting new connections (the unix socket file is removed). Open connections are not
 * touched: the caller closes them as their requests end.
 */
export function closeListener(listener: Listener): void {
  listener.server.close();
}

/**
 * Binds `server` to a unix socket the way every cgi-fpm socket is opened: the parent directory
 * created (mode `0755`) when missing, a stale socket file removed (any other kind of file is
 * left alone and refused), then `chmod` to `mode`. Used for the pools' listeners and the
 * control socket.
 *
 * @param mode - permission bits of the socket file (`listen.mode`, `0o600` for control).
 * @param backlog - the `listen(2)` backlog.
 * @throws Error (rejects) from `mkdir`, `lstat`, `unlink`, `listen` or `chmod`, or when the
 *   path exists and is not a socket.
 */
export async function listenUnix(server: Server, path: string, mode: number, backlog: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await removeStaleSocket(path);
  await listen(server, { path, backlog });
  await chmod(path, mode);
}

async function listen(server: Server, options: { path?: string; host?: string; port?: number; backlog: number }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    const stat = await lstat(path);
    if (!stat.isSocket()) throw new Error(`exists and is not a socket: ${path}`);
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
