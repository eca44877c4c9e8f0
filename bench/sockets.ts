// This file implements socket readiness from the perspective of the bench starting servers that
// listen on unix sockets (cgi-fpm, fcgiwrap, PHP-FPM) or loopback ports (Apache): a bounded
// wait until each accepts.
import { createConnection } from 'node:net';
import { waitUntil } from '../test/integration/helpers/wait.ts';

/** A unix socket's path, or a TCP address. */
export type Address = string | { readonly host: string; readonly port: number };

/** True when a connection to `address` is accepted (then closed at once). */
export function canConnect(address: Address): Promise<boolean> {
  return new Promise((resolve) => {
    const socket =
      typeof address === 'string' ? createConnection(address) : createConnection(address.port, address.host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * Resolves once every socket or address in `paths` accepts connections.
 *
 * @param gone - returns a reason when the server has exited, to fail at once instead of waiting
 * @param timeoutMs - the bound, in milliseconds
 * @throws Error naming the first socket not accepting, or the reason from `gone`
 */
export async function waitForSockets(
  paths: readonly Address[],
  gone: () => string | undefined,
  timeoutMs: number,
): Promise<void> {
  for (const path of paths) {
    await waitUntil(
      `accepting on ${typeof path === 'string' ? path : `${path.host}:${path.port}`}`,
      async () => {
        const reason = gone();
        if (reason !== undefined) throw new Error(reason);
        return canConnect(path);
      },
      timeoutMs,
    );
  }
}
