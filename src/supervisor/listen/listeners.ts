// This file implements the supervisor's listening sockets from the perspective of the web
// server that connects to them: one server per distinct address (pools may share one), unix
// sockets created with their parent directory, `listen.owner`, `listen.group` and
// `listen.mode`, TCP on host:port, with `listen.backlog`, or a socket systemd passed
// (`systemd:NAME`, adopted by fd); and the unix socket helpers the control socket shares
// (control.ts).
import { unlinkSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { PoolConfig } from '../../config/schema.ts';
import { formatListenAddress } from '../../config/schema.ts';
import { DaemonError, ErrorCode } from '../../errors.ts';
import { assertSocketFree } from './socket-in-use.ts';
import { bindWithMode } from './socket-mode.ts';

/** One opened listener and the pools that share it, in config order. */
export interface Listener {
  /** The address as written in the config (`/run/cgi-fpm/blog.sock`, `127.0.0.1:9001`). */
  readonly address: string;
  readonly pools: readonly PoolConfig[];
  readonly server: Server;
  /**
   * The fd systemd passed, for `systemd:NAME`: systemd keeps its own copy, and a reload that
   * drops the address keeps this one open (the fd number must not be reused while systemd
   * may pass it again), routing to no pool.
   */
  readonly passedFd?: number;
  /**
   * `dispatch = "direct"`: the listening socket held paused for the workers to accept on
   * (listen-holder.ts); {@link server} is closed then.
   */
  readonly held?: Socket;
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
 * Opens one listener for a group of pools sharing an address. A `systemd:NAME` address adopts
 * the fd passed under NAME: its mode and owner are the `.socket` unit's; Node calls listen(2)
 * on it again, so `listen.backlog` applies.
 *
 * @param passed - fds systemd passed, by name (socket activation).
 * @param onBound - called with the server as soon as its socket is bound and listening, before
 *   anything else awaits (`listen.owner`/`mode` are applied after it): a direct pool's
 *   listener is held there, before the event loop could accept on it.
 * @throws DaemonError (`ERR_LISTEN`) naming the address when it cannot be bound or adopted;
 *   (`ERR_LISTEN_FDS`) when no socket was passed under NAME.
 * @see PHP-FPM `listen`, `listen.mode`, `listen.backlog`; sd_listen_fds(3)
 */
export async function openListener(pools: readonly PoolConfig[], onConnection: (socket: Socket) => void,
  passed: ReadonlyMap<string, number> = new Map(), onBound?: (server: Server) => void): Promise<Listener> {
  const first = pools[0];
  if (first === undefined) throw new TypeError('listeners: openListener: no pools');
  const { address, mode, backlog, owner, group } = first.listen;
  const text = formatListenAddress(address);
  const passedFd = address.kind === 'systemd' ? passed.get(address.name) : undefined;
  if (address.kind === 'systemd' && passedFd === undefined) {
    const names = [...passed].map(([name, fd]) => `${JSON.stringify(name)} (fd ${fd})`).join(', ');
    throw new DaemonError(ErrorCode.ERR_LISTEN_FDS,
      `listen: ${text}: no socket named ${JSON.stringify(address.name)} was passed by systemd (passed: ${names === '' ? 'none' : names})`);
  }
  const server = createServer({ noDelay: true }, onConnection);
  try {
    if (address.kind === 'unix') {
      await listenUnix(server, address.path, mode, backlog, { uid: owner, gid: group }, onBound);
    } else if (address.kind === 'tcp') {
      await listen(server, { host: address.host, port: address.port, backlog }, onBound);
    } else {
      await listen(server, { fd: passedFd, backlog }, onBound);
    }
  } catch (err) {
    server.close();
    throw new DaemonError(ErrorCode.ERR_LISTEN, `listen: ${text}: ${(err as Error).message}`, { cause: err });
  }
  return passedFd === undefined ? { address: text, pools, server } : { address: text, pools, server, passedFd };
}

/**
 * Stops accepting new connections (the unix socket file is removed). Open connections are not
 * touched: the caller closes them as their requests end.
 */
export function closeListener(listener: Listener): void {
  listener.server.close();
  const { held } = listener;
  if (held === undefined) return;
  // The server's close removed no file (it was renamed aside then): remove this socket's now.
  held.destroy();
  const address = listener.pools[0]?.listen.address;
  if (address?.kind === 'unix') {
    try {
      unlinkSync(address.path);
    } catch {
      // already gone
    }
  }
}

/** Owner and group a unix socket file is given; `undefined` keeps the daemon's. */
export interface SocketOwner {
  /** @see PHP-FPM `listen.owner` */
  readonly uid?: number | undefined;
  /** @see PHP-FPM `listen.group` */
  readonly gid?: number | undefined;
}

/**
 * Binds `server` to a unix socket the way every cgi-fpm socket is opened: the parent directory
 * created (mode `0755`) when missing, a stale socket file removed (any other kind of file is
 * left alone and refused), then `chown` to `owner` (when given) and `chmod` to `mode`. Used for
 * the pools' listeners and the control socket.
 *
 * @param mode - permission bits of the socket file (`listen.mode`, `0o600` for control).
 * @param backlog - the `listen(2)` backlog.
 * @param owner - `listen.owner` / `listen.group`; a non-root daemon can only give the socket
 *   to itself and to groups it is in.
 * @param onBound - called with the listening server before the chown and chmod (see openListener).
 * @throws Error (rejects) from `mkdir`, `lstat`, `unlink`, `listen`, `chown` (naming the ids)
 *   or `chmod`, or when the path exists and is not a socket.
 */
export async function listenUnix(
  server: Server, path: string, mode: number, backlog: number, owner: SocketOwner = {},
  onBound?: (server: Server) => void,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await removeStaleSocket(path);
  // Born with `mode` (the umask set around the synchronous bind), chmod'ed again below.
  await bindWithMode(mode, () => listen(server, { path, backlog }, onBound));
  if (owner.uid !== undefined || owner.gid !== undefined) await chownSocket(path, owner);
  await chmod(path, mode);
}

/** chown(2) with `-1` for "unchanged", as PHP-FPM does; the error names what was asked. */
async function chownSocket(path: string, owner: SocketOwner): Promise<void> {
  try {
    await chown(path, owner.uid ?? -1, owner.gid ?? -1);
  } catch (err) {
    const asked = `listen.owner ${owner.uid ?? '(unchanged)'}, listen.group ${owner.gid ?? '(unchanged)'}`;
    throw new Error(`cannot give the socket to ${asked}: ${(err as Error).message}`, { cause: err });
  }
}

/** `server.listen(options)`; `onBound` runs in its callback, before the caller's next await. */
async function listen(server: Server, options: { path?: string; host?: string; port?: number; fd?: number | undefined; backlog: number },
  onBound?: (server: Server) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      try {
        onBound?.(server);
        resolve();
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    const stat = await lstat(path);
    if (!stat.isSocket()) throw new Error(`exists and is not a socket: ${path}`);
    // Only a stale socket is replaced: a live one belongs to a running daemon (issue 10.6).
    if (!await assertSocketFree(path)) return;
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
