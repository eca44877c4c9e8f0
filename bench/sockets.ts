// This file implements socket readiness from the perspective of the bench starting servers that
// listen on unix sockets (cgi-fpm, fcgiwrap): a bounded wait until a socket accepts.
import { createConnection } from 'node:net';
import { waitUntil } from '../test/integration/helpers/wait.ts';

/** True when a connection to the unix socket `path` is accepted (then closed at once). */
export function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
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
 * Resolves once every socket in `paths` accepts connections.
 *
 * @param gone - returns a reason when the server has exited, to fail at once instead of waiting
 * @param timeoutMs - the bound, in milliseconds
 * @throws Error naming the first socket not accepting, or the reason from `gone`
 */
export async function waitForSockets(
  paths: readonly string[],
  gone: () => string | undefined,
  timeoutMs: number,
): Promise<void> {
  for (const path of paths) {
    await waitUntil(
      `accepting on ${path}`,
      async () => {
        const reason = gone();
        if (reason !== undefined) throw new Error(reason);
        return canConnect(path);
      },
      timeoutMs,
    );
  }
}
