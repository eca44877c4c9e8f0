// This file implements the holding of a direct pool's listening socket from the perspective of
// the supervisor, which binds it (mode, owner, backlog: listeners.ts) but must not accept on
// it: the workers do (PHP-FPM's model). A listening net.Server would take its share of the
// connections, and closing it closes the descriptor, so the socket is turned into a paused
// net.Socket over the same socket (fd-courier.ts: the descriptor goes out to a courier child as
// a numbered stdio entry and comes back over Node IPC), and the server is closed. The paused
// socket is polled by nothing; each direct worker gets it as a stdio entry and accepts on it.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { renameSync } from 'node:fs';
import { Socket as NetSocket, type Server, type Socket } from 'node:net';
import type { ListenAddress } from '../../config/schema.ts';
import { DaemonError, ErrorCode } from '../../errors.ts';
import { listeningInodes, ownSocketFds, type ProcFiles, PROC } from './proc-sockets.ts';

/** `child_process.spawn`'s shape. */
export type CourierSpawn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/**
 * The descriptor number of `server`'s listening socket in this process: the one of this
 * process's sockets that the kernel lists as listening on `address`.
 * @throws DaemonError `ERR_LISTEN` when none or several match
 */
export function serverFd(address: ListenAddress, proc: ProcFiles = PROC): number {
  const own = ownSocketFds(proc);
  const matches = listeningInodes(address, proc).filter((inode) => own.has(inode));
  const fd = matches.length === 1 && matches[0] !== undefined ? own.get(matches[0]) : undefined;
  if (fd === undefined) {
    throw new DaemonError(ErrorCode.ERR_LISTEN,
      `listen: direct: cannot find the listening socket's descriptor (${matches.length} sockets of this process listen there)`);
  }
  return fd;
}

/**
 * Turns the listening `server` bound on `address` into a paused socket only workers accept on,
 * and closes `server`, all before this returns: called as soon as the socket is bound (in the
 * listen callback, before any other await), the server never accepts a connection (one it took
 * would wait for a pool with no channel, and hold its close). A unix socket's file is renamed
 * aside while the server closes (Node removes a server's socket file when it closes) and put
 * back: connecting fails for that instant, at the listener's opening only. The courier took its
 * copy of the descriptor when it was spawned (synchronously), so the socket stays open.
 * @param courierMain - the built fd-courier.js
 * @returns the held socket, once the courier sent it back
 * @throws DaemonError `ERR_LISTEN` (synchronously) when the descriptor is not found; (rejects)
 *   when the courier fails
 */
export function holdListener(server: Server, address: ListenAddress, courierMain: string,
  spawn: CourierSpawn): Promise<Socket> {
  const fd = serverFd(address);
  const held = fetchSocket(spawn, courierMain, fd);
  if (address.kind === 'unix') {
    const aside = `${address.path}.direct-${process.pid}`;
    renameSync(address.path, aside);
    server.close();
    renameSync(aside, address.path);
  } else {
    server.close();
  }
  return held;
}

/** Runs the courier with `fd` on its fd 3 and waits for the paused socket it sends back. */
async function fetchSocket(spawn: CourierSpawn, courierMain: string, fd: number): Promise<Socket> {
  const courier = spawn(process.execPath, [courierMain], { stdio: ['ignore', 'inherit', 'inherit', fd, 'ipc'] });
  return new Promise<Socket>((resolve, reject) => {
    const fail = (why: string): void => {
      courier.kill('SIGKILL');
      reject(new DaemonError(ErrorCode.ERR_LISTEN, `listen: direct: the socket courier ${why}`));
    };
    courier.once('error', (err) => { fail(`failed: ${err.message}`); });
    courier.once('exit', (code, signal) => { fail(`exited (code ${String(code)}, signal ${String(signal)})`); });
    courier.once('message', (_message, handle) => {
      courier.removeAllListeners('exit');
      if (!(handle instanceof NetSocket)) {
        fail('sent no socket');
        return;
      }
      const socket = handle;
      // Received readable: paused before the event loop polls it, so nothing ever reads it.
      socket.pause();
      socket.on('error', () => undefined);
      courier.send({ type: 'done' });
      courier.disconnect();
      resolve(socket);
    });
  });
}
