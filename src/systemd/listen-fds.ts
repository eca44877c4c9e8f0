// This file implements socket activation from the perspective of a daemon systemd (or
// `systemd-socket-activate`, s6-fdholder…) started with listening sockets already open: it
// reads `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES` as sd_listen_fds_with_names(3) does,
// and checks the passed sockets against the pools' `listen = "systemd:NAME"` values.
import { formatListenAddress, type ListenAddress } from '../config/listen.ts';
import { DaemonError, ErrorCode } from '../errors.ts';

/**
 * The first passed file descriptor: the sockets are fds 3, 4, … in `LISTEN_FDNAMES` order.
 * @see sd_listen_fds(3) `SD_LISTEN_FDS_START`
 */
export const SD_LISTEN_FDS_START = 3;

/** The name a socket gets when `LISTEN_FDNAMES` is not set, as libsystemd names it. */
export const UNKNOWN_FDNAME = 'unknown';

/** One socket passed by systemd. */
export interface PassedSocket {
  /** Its `FileDescriptorName=` (the `.socket` unit's name when unset), or `unknown`. */
  readonly name: string;
  /** The file descriptor, 3 or more. */
  readonly fd: number;
}

/** What the environment says about passed sockets. */
export interface ListenFds {
  /** The sockets, in fd order; empty when none were passed to this process. */
  readonly sockets: readonly PassedSocket[];
  /**
   * Why `LISTEN_FDS` was set but ignored (`LISTEN_PID` missing or another process's: the
   * variables were inherited, not meant for this process), for the log; else `undefined`.
   */
  readonly ignored: string | undefined;
}

/** The socket-activation variables, which children (workers, scripts) must not inherit. */
export const LISTEN_ENV_NAMES = ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'] as const;

function fail(message: string): DaemonError {
  return new DaemonError(ErrorCode.ERR_LISTEN_FDS, `systemd: ${message}`);
}

/**
 * Reads the passed sockets from an environment.
 *
 * @param env - the daemon's environment (read by the caller in cli/).
 * @param pid - this process's pid: `LISTEN_PID` must equal it, else the variables are ignored.
 * @throws DaemonError (`ERR_LISTEN_FDS`) when `LISTEN_FDS` is not a count, or
 *   `LISTEN_FDNAMES` does not name each socket exactly once (libsystemd answers EINVAL).
 * @see sd_listen_fds_with_names(3), systemd.socket(5) `FileDescriptorName=`
 */
export function parseListenFds(env: Readonly<Record<string, string | undefined>>, pid: number): ListenFds {
  const countText = env.LISTEN_FDS;
  if (countText === undefined) return { sockets: [], ignored: undefined };
  const pidText = env.LISTEN_PID;
  if (pidText === undefined) return { sockets: [], ignored: 'LISTEN_FDS is set but LISTEN_PID is not' };
  if (pidText !== String(pid))
    return { sockets: [], ignored: `LISTEN_PID=${pidText} is not this process (${pid})` };
  if (!/^\d+$/.test(countText))
    throw fail(`LISTEN_FDS=${JSON.stringify(countText)} is not a number of sockets`);
  const count = Number(countText);
  if (count === 0) return { sockets: [], ignored: undefined };
  const namesText = env.LISTEN_FDNAMES;
  const names =
    namesText === undefined ? Array.from({ length: count }, () => UNKNOWN_FDNAME) : namesText.split(':');
  if (names.length !== count) {
    throw fail(
      `LISTEN_FDNAMES=${JSON.stringify(namesText)} names ${names.length} sockets, LISTEN_FDS=${count}`,
    );
  }
  return { sockets: names.map((name, i) => ({ name, fd: SD_LISTEN_FDS_START + i })), ignored: undefined };
}

/**
 * The fd of each passed socket by name.
 * @throws DaemonError (`ERR_LISTEN_FDS`) when two sockets share a name (one `.socket` unit
 *   with several `ListenStream=`): a pool adopts one socket, so each needs its own name.
 */
export function socketsByName(sockets: readonly PassedSocket[]): Map<string, number> {
  const byName = new Map<string, number>();
  for (const { name, fd } of sockets) {
    const first = byName.get(name);
    if (first !== undefined) {
      throw fail(
        `sockets ${JSON.stringify(name)} (fd ${first}) and ${JSON.stringify(name)} (fd ${fd}) share a name; ` +
          'give each ListenStream= its own .socket unit with its own FileDescriptorName=',
      );
    }
    byName.set(name, fd);
  }
  return byName;
}

/** Lists the passed sockets for messages: `"a" (fd 3), "b" (fd 4)`, or `none`. */
function describeSockets(byName: ReadonlyMap<string, number>): string {
  const parts = [...byName].map(([name, fd]) => `${JSON.stringify(name)} (fd ${fd})`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** The message for a pool naming (`systemd:NAME`) a socket that was not passed. */
function missingSocketMessage(name: string, byName: ReadonlyMap<string, number>): string {
  const listen = formatListenAddress({ kind: 'systemd', name });
  return `systemd: no socket named ${JSON.stringify(name)} was passed, but a pool listens on ${listen} (passed: ${describeSockets(byName)})`;
}

/**
 * Checks the passed sockets against the pools' listen addresses at startup: every
 * `systemd:NAME` must have been passed, and every passed socket must be used (an unused one
 * is a unit and a config that disagree: connections to it would wait forever).
 *
 * @param addresses - every pool's listen address.
 * @throws DaemonError (`ERR_LISTEN_FDS`) naming each missing and each unused socket.
 */
export function checkPassedSockets(
  byName: ReadonlyMap<string, number>,
  addresses: readonly ListenAddress[],
): void {
  const wanted = new Set<string>();
  for (const address of addresses) if (address.kind === 'systemd') wanted.add(address.name);
  const problems: string[] = [];
  for (const name of wanted) if (!byName.has(name)) problems.push(missingSocketMessage(name, byName));
  for (const [name, fd] of byName) {
    if (wanted.has(name)) continue;
    const listen = formatListenAddress({ kind: 'systemd', name });
    problems.push(
      `systemd: socket ${JSON.stringify(name)} (fd ${fd}) passed but no pool listens on ${listen}`,
    );
  }
  if (problems.length > 0) throw new DaemonError(ErrorCode.ERR_LISTEN_FDS, problems.join('\n'));
}
