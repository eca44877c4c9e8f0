// This file implements the command line of `cgi-fpm start` from the perspective of yargs: its
// options, and a handler that loads the daemon (start.ts) only when `start` runs, so that
// `check` and `--help` stay fast and free of the supervisor's imports.

import type { CommandModule } from 'yargs';
import { parseDurationMs } from '../../config/units.ts';
import { configOption } from '../io.ts';
import type { CliContext } from '../io.ts';

/** Arguments of `cgi-fpm start` as parsed. */
export interface StartCliArgs {
  /** Path of the TOML config file. */
  readonly config: string;
  /** `HOST:PORT` to also serve plain HTTP on, if given. */
  readonly http: string | undefined;
  /** s6's notification fd (3 or more), if given. */
  readonly 'notify-fd': number | undefined;
  /** Longest wait for every pool's initial workers (a duration), if given. */
  readonly 'ready-timeout': string | undefined;
}

/** A repeated option's last value (yargs makes an array of a repeated string option). */
function lastOf(value: string | string[]): string | undefined {
  return Array.isArray(value) ? value.at(-1) : value;
}

/**
 * `--ready-timeout` as milliseconds: a duration as the config writes it (`"60s"`, `"2m"`, a
 * bare number of seconds), or the problem with it.
 */
function readyTimeout(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDurationMs(text);
  } catch (err) {
    return `--ready-timeout: ${(err as Error).message}`;
  }
}

/** The lowest `--notify-fd`: 0, 1 and 2 are stdin, stdout and stderr. */
const MIN_NOTIFY_FD = 3;

/**
 * The yargs command module of `cgi-fpm start -c FILE [--http HOST:PORT] [--notify-fd N]
 * [--ready-timeout DURATION]`.
 */
export function startCommandModule(context: CliContext): CommandModule<object, StartCliArgs> {
  return {
    command: 'start',
    describe: 'run the daemon in the foreground until SIGTERM or SIGINT',
    builder: (cli) =>
      cli.option('config', configOption).option('http', {
        type: 'string',
        requiresArg: true,
        // The last one wins, so `npm start -- --http ADDR` overrides the script's default.
        coerce: lastOf,
        describe: 'also serve plain HTTP on HOST:PORT (for trying cgi-fpm without a web server); the last one given wins',
      }).option('ready-timeout', {
        type: 'string',
        requiresArg: true,
        coerce: lastOf,
        describe: 'longest wait for every pool\'s initial workers before READY=1, then exit 70 (a duration: "60s"; 0 = no bound; default 60s under systemd or --notify-fd, else no wait)',
      }).option('notify-fd', {
        type: 'number',
        requiresArg: true,
        describe: 'write a newline to file descriptor N once ready, then close it (s6 notification-fd)',
      }).check(({ 'notify-fd': fd, 'ready-timeout': timeout }) => {
        const timeoutMs = readyTimeout(timeout);
        if (typeof timeoutMs === 'string') return timeoutMs;
        if (fd === undefined || (Number.isInteger(fd) && fd >= MIN_NOTIFY_FD)) return true;
        // A string (not a thrown Error) is a usage error: exit 64.
        return `--notify-fd must be a file descriptor number of ${MIN_NOTIFY_FD} or more, got ${String(fd)}`;
      }),
    handler: async ({ config, http, 'notify-fd': notifyFd, 'ready-timeout': timeout }) => {
      const readyTimeoutMs = readyTimeout(timeout);
      if (typeof readyTimeoutMs === 'string') throw new TypeError(readyTimeoutMs);
      const { startCommand } = await import('./start.ts');
      context.exitCode = await startCommand({ config, http, notifyFd, readyTimeoutMs });
    },
  };
}
