// This file implements loopback port picking from the perspective of a test that must give the
// daemon a TCP address (`--http 127.0.0.1:PORT`): ask the kernel for a free port on 127.0.0.1.
import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0). Another
 * process could take it before the caller binds it; on a test machine that is rare enough.
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('net: no port assigned'));
      });
    });
  });
}
