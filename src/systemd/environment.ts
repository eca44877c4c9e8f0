// This file implements the service manager's environment from the perspective of a daemon
// started by systemd: where to send notifications (`NOTIFY_SOCKET`), how often to ping the
// watchdog (`WATCHDOG_USEC`, `WATCHDOG_PID`), and an environment for children with every
// variable meant for the daemon alone removed.
import { LISTEN_ENV_NAMES } from './listen-fds.ts';

/** Variables systemd sets for the main process only; workers and scripts never see them. */
export const SYSTEMD_ENV_NAMES: readonly string[] = [
  ...LISTEN_ENV_NAMES,
  'NOTIFY_SOCKET',
  'WATCHDOG_USEC',
  'WATCHDOG_PID',
];

/** The notification settings the environment gives. */
export interface NotifyEnv {
  /** `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace); `undefined` when unset. */
  readonly notifySocket: string | undefined;
  /**
   * How often to send `WATCHDOG=1`, in milliseconds: half of `WATCHDOG_USEC` (as
   * sd_watchdog_enabled(3) advises); `undefined` when the watchdog is off or meant for another
   * process (`WATCHDOG_PID`).
   */
  readonly watchdogIntervalMs: number | undefined;
}

/**
 * Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`.
 *
 * @param env - the daemon's environment (read by the caller in cli/).
 * @param pid - this process's pid, compared with `WATCHDOG_PID`.
 * @see sd_notify(3), sd_watchdog_enabled(3)
 */
export function readNotifyEnv(env: Readonly<Record<string, string | undefined>>, pid: number): NotifyEnv {
  const notifySocket = env.NOTIFY_SOCKET === '' ? undefined : env.NOTIFY_SOCKET;
  return { notifySocket, watchdogIntervalMs: watchdogIntervalMs(env, pid) };
}

function watchdogIntervalMs(
  env: Readonly<Record<string, string | undefined>>,
  pid: number,
): number | undefined {
  const usecText = env.WATCHDOG_USEC;
  if (usecText === undefined || !/^\d+$/.test(usecText)) return undefined;
  const watchdogPid = env.WATCHDOG_PID;
  if (watchdogPid !== undefined && watchdogPid !== String(pid)) return undefined;
  const usec = Number(usecText);
  // Whole milliseconds, at least 1: a timer cannot fire more often.
  return usec <= 0 ? undefined : Math.max(1, Math.floor(usec / 2000));
}

/**
 * A copy of `env` without {@link SYSTEMD_ENV_NAMES}: a worker that saw `LISTEN_FDS` or a
 * script that saw `NOTIFY_SOCKET` could take them as meant for itself (sd_notify(3)'s
 * `unset_environment`).
 */
export function childEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const copy = { ...env };
  for (const name of SYSTEMD_ENV_NAMES) Reflect.deleteProperty(copy, name);
  return copy;
}
