// This file implements `cgi-fpm check` from the perspective of an operator about to (re)start
// the daemon, as `php-fpm -t`: validate the config file and print what the daemon would run
// with, or every problem, one per line.

import type { CommandModule } from 'yargs';
import { ConfigError } from '../../errors.ts';
import { formatConfigToml } from '../../config/format.ts';
import { loadConfig } from '../../config/load.ts';
import { configProblems } from '../../config/problems.ts';
import { EX_CONFIG, EX_OK } from '../exit-codes.ts';
import { configOption } from '../io.ts';
import { checkPools } from './check-pools.ts';
import type { CliContext, CliIo } from '../io.ts';

/** Arguments of `cgi-fpm check`. */
export interface CheckArgs {
  /** Path of the TOML config file. */
  readonly config: string;
}

/**
 * Loads the config file and prints the effective config (defaults applied, paths resolved)
 * as TOML with PHP-FPM's key spellings on stdout; then checks the pools (`check-pools.ts`):
 * warnings (`warning: …`: a shadowed `match`, `root = "/"`) go to stderr.
 *
 * @returns `0` when the config is valid; `78` (EX_CONFIG) after writing each problem on its own
 *   line to stderr (a `python.executable` not found is one).
 * @throws anything that is not a {@link ConfigError} (a bug), for `main()` to report.
 */
export async function checkCommand(args: CheckArgs, io: CliIo): Promise<number> {
  try {
    const config = await loadConfig(args.config);
    const { problems, warnings } = checkPools(config, process.env.PATH);
    for (const warning of warnings) io.stderr(`warning: ${warning}\n`);
    if (problems.length > 0) {
      for (const problem of problems) io.stderr(`${problem}\n`);
      return EX_CONFIG;
    }
    io.stdout(formatConfigToml(config));
    return EX_OK;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of configProblems(error)) io.stderr(`${problem.message}\n`);
    return EX_CONFIG;
  }
}

/** The yargs command module of `cgi-fpm check -c FILE`. */
export function checkCommandModule(context: CliContext): CommandModule<object, CheckArgs> {
  return {
    command: 'check',
    describe: 'validate the config file and print the effective config as TOML',
    builder: (cli) => cli.option('config', configOption),
    handler: async (args) => {
      context.exitCode = await checkCommand(args, context.io);
    },
  };
}
