// This file implements the fcgiwrap baseline from the perspective of the bench: the stock
// fork-per-request FastCGI wrapper with as many preforked children as cgi-fpm has workers,
// on a unix socket, stopped with its whole process group.
import type { Cgroup } from './cgroups.ts';
import { startChild, type Child } from './child.ts';
import { underReaper } from './reaper.ts';
import { waitForSockets } from './sockets.ts';

const READY_TIMEOUT_MS = 10_000;

/**
 * fcgiwrap hands its own environment to every script (minus the CGI variables), so it gets
 * what a service manager would give it. The bench's environment could hold variables that slow
 * every interpreter start (NODE_OPTIONS, NODE_EXTRA_CA_CERTS, PYTHONSTARTUP), while cgi-fpm's
 * scripts see only CGI variables (`clear_env = true`).
 */
const SERVICE_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

/**
 * Starts `fcgiwrap -s unix:SOCKET -c CHILDREN` under a reaper (`python`), in its own process
 * group (and `cgroup`, if any), and resolves once the socket accepts. fcgiwrap execs `SCRIPT_FILENAME` for every
 * request, as CGI does. Stopping signals the group: fcgiwrap's parent dies at once, its
 * children a moment later, and the reaper collects them.
 *
 * @throws Error with fcgiwrap's output when it exits or does not listen in time
 */
export async function startFcgiwrap(
  binary: string,
  socket: string,
  children: number,
  python: string,
  cgroup: Cgroup | undefined,
): Promise<Child> {
  const command = underReaper(python, binary, ['-s', `unix:${socket}`, '-c', String(children)]);
  const [file, args] = cgroup?.wrap(...command) ?? command;
  const child = await startChild(file, args, {
    detached: true,
    env: SERVICE_ENV,
    graceMs: 5000,
  });
  try {
    await waitForSockets([socket], () => child.gone(), READY_TIMEOUT_MS);
  } catch (err) {
    await child.stop();
    throw new Error(`fcgiwrap: not listening: ${(err as Error).message}\n${child.output()}`, { cause: err });
  }
  return child;
}
