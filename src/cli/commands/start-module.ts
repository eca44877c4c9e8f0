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
}

/** The yargs command module of `cgi-fpm start -c FILE [--http HOST:PORT]`. */
export function startCommandModule(context: CliContext): CommandModule<object, StartCliArgs> {
  return {
    command: 'start',
    describe: 'run the daemon in the foreground until SIGTERM or SIGINT',
    builder: (cli) =>
      cli.option('config', configOption).option('http', {
        type: 'string',
        requiresArg: true,
        describe: 'also serve plain HTTP on HOST:PORT (for trying cgi-fpm without a web server)',
      }),
    handler: async ({ config, http }) => {
      const { startCommand } = await import('./start.ts');
      context.exitCode = await startCommand(http === undefined ? { config } : { config, http });
    },
  };
}
