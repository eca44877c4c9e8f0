// This file implements the start of the bench's Node floor (peers/fcgi-floor.ts) from the
// perspective of the bench loop: the cluster's primary with as many children as cgi-fpm has
// workers, on a unix socket, in its own cgroup when the machine allows, stopped by PID.
import { fileURLToPath } from 'node:url';
import type { Cgroup } from './cgroups.ts';
import { startChild, type Child } from './child.ts';
import { waitForSockets } from './sockets.ts';

const FLOOR = fileURLToPath(new URL('./peers/fcgi-floor.js', import.meta.url));
const READY_TIMEOUT_MS = 10_000;

/**
 * Starts `node fcgi-floor.js SOCKET CHILDREN` (in `cgroup`, if any) and resolves once its
 * socket accepts.
 *
 * @throws Error with its output when it exits or does not listen in time
 */
export async function startNodeFloor(socket: string, children: number, cgroup: Cgroup | undefined): Promise<Child> {
  const command: [string, string[]] = [process.execPath, [FLOOR, socket, String(children)]];
  const [file, args] = cgroup?.wrap(...command) ?? command;
  const child = await startChild(file, args, { graceMs: 5000 });
  try {
    await waitForSockets([socket], () => child.gone(), READY_TIMEOUT_MS);
  } catch (err) {
    await child.stop();
    throw new Error(`node floor: not listening: ${(err as Error).message}\n${child.output()}`, { cause: err });
  }
  return child;
}
