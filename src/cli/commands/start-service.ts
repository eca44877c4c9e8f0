// This file implements the service-manager side of `cgi-fpm start` from the perspective of
// systemd and s6 running the daemon: it reads their environment once (the sockets systemd
// passed, NOTIFY_SOCKET, the watchdog), checks the passed sockets against the config, builds
// the workers' environment without those variables, and sets up readiness reporting
// (sd_notify through `systemd-notify`, s6's notification fd).
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, writeSync } from 'node:fs';
import type { DaemonConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import type { DaemonStatus } from '../../supervisor/status.ts';
import { childEnvironment, readNotifyEnv } from '../../systemd/environment.ts';
import { checkPassedSockets, parseListenFds, socketsByName } from '../../systemd/listen-fds.ts';
import { SystemdNotifier } from '../../systemd/notify.ts';
import { Readiness } from '../../systemd/readiness.ts';

/** What the supervisor is started with. */
export interface ServiceSetup {
  /** Sockets systemd passed, fd by name. */
  readonly listenFds: ReadonlyMap<string, number>;
  /** The workers' environment: the daemon's, without the service manager's variables. */
  readonly workerEnv: NodeJS.ProcessEnv;
  /** Readiness reporting; the supervisor's `events`. */
  readonly readiness: Readiness;
  /** True when a service manager waits for readiness (`NOTIFY_SOCKET`, `--notify-fd`). */
  readonly awaited: boolean;
}

/**
 * Reads the service manager's environment and prepares what the supervisor needs.
 *
 * @param notifyFd - s6's `notification-fd` (`--notify-fd`), checked open by the caller.
 * @param status - the supervisor's counters, for `STATUS=`.
 * @throws DaemonError (`ERR_LISTEN_FDS`) when the passed sockets and the pools'
 *   `systemd:NAME` listens disagree, or the socket-activation variables are malformed.
 */
export function setUpService(
  config: DaemonConfig,
  notifyFd: number | undefined,
  log: Logger,
  status: () => DaemonStatus,
): ServiceSetup {
  const env = process.env;
  const passed = parseListenFds(env, process.pid);
  if (passed.ignored !== undefined) log.warn({ reason: passed.ignored }, 'systemd sockets ignored');
  const listenFds = socketsByName(passed.sockets);
  checkPassedSockets(
    listenFds,
    config.pools.map((p) => p.listen.address),
  );
  const { notifySocket, watchdogIntervalMs } = readNotifyEnv(env, process.pid);
  const notifier =
    notifySocket === undefined
      ? undefined
      : new SystemdNotifier({
          spawn,
          log,
          notifySocket,
          pid: process.pid,
          path: env.PATH,
        });
  if (notifier !== undefined) log.info({ notifySocket, watchdogIntervalMs }, 'notifying systemd');
  const readiness = new Readiness({
    notifier,
    watchdogIntervalMs,
    status,
    now: () => Date.now(),
    monotonicUsec: () => process.hrtime.bigint() / 1000n,
    ...(notifyFd === undefined
      ? {}
      : {
          onReady: () => {
            writeReadyLine(notifyFd, log);
          },
        }),
  });
  return { listenFds, workerEnv: childEnvironment(env), readiness, awaited: notifier !== undefined || notifyFd !== undefined };
}

/**
 * True when `fd` is an open file descriptor (for `--notify-fd`). This catches a number that
 * was not passed at all; it cannot tell a passed fd from one Node opened for itself, so N must
 * be the one the supervisor (s6-supervise: the `notification-fd` file) keeps open for us.
 */
export function isOpenFd(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * s6 readiness: one newline on the notification fd, then close it.
 * @see s6 `notifywhenup.html`
 */
function writeReadyLine(fd: number, log: Logger): void {
  try {
    writeSync(fd, '\n');
    closeSync(fd);
    log.debug({ fd }, 'readiness written to the notification fd');
  } catch (err) {
    log.error({ fd, err: (err as Error).message }, 'cannot write readiness to the notification fd');
  }
}
