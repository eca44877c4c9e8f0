// This file implements the command line of `cgi-fpm start` from the perspective of yargs: its
// options, and a handler that loads the daemon (start.ts) only when `start` runs, so that
// `check` and `--help` stay fast and free of the supervisor's imports.

import type { CommandModule } from 'yargs';
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
}

/** The lowest `--notify-fd`: 0, 1 and 2 are stdin, stdout and stderr. */
const MIN_NOTIFY_FD = 3;

/** The yargs command module of `cgi-fpm start -c FILE [--http HOST:PORT] [--notify-fd N]`. */
export function startCommandModule(context: CliContext): CommandModule<object, StartCliArgs> {
  return {
    command: 'start',
    describe: 'run the daemon in the foreground until SIGTERM or SIGINT',
    builder: (cli) =>
      cli.option('config', configOption).option('http', {
        type: 'string',
        requiresArg: true,
        describe: 'also serve plain HTTP on HOST:PORT (for trying cgi-fpm without a web server)',
      }).option('notify-fd', {
        type: 'number',
        requiresArg: true,
        describe: 'write a newline to file descriptor N once ready, then close it (s6 notification-fd)',
      }).check(({ 'notify-fd': fd }) => {
        if (fd === undefined || (Number.isInteger(fd) && fd >= MIN_NOTIFY_FD)) return true;
        // A string (not a thrown Error) is a usage error: exit 64.
        return `--notify-fd must be a file descriptor number of ${MIN_NOTIFY_FD} or more, got ${String(fd)}`;
      }),
    handler: async ({ config, http, 'notify-fd': notifyFd }) => {
      const { startCommand } = await import('./start.ts');
      context.exitCode = await startCommand({ config, http, notifyFd });
    },
  };
}
