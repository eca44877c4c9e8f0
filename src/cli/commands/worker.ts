// This file implements `cgi-fpm worker --pool NAME -c FILE` from the perspective of the web
// server that spawns it (Apache mod_fcgid's `FcgidWrapper`, spawn-fcgi): load the config, pick
// the pool, and serve it as one standalone worker on the listening socket inherited as fd 0.

import type { CommandModule } from 'yargs';
import { loadConfig } from '../../config/load.ts';
import { configProblems } from '../../config/problems.ts';
import { ConfigError } from '../../errors.ts';
import { EX_CONFIG } from '../exit-codes.ts';
import { configOption } from '../io.ts';
import type { CliContext, CliIo } from '../io.ts';

/** Arguments of `cgi-fpm worker`. */
export interface WorkerArgs {
  /** Path of the TOML config file. */
  readonly config: string;
  /** Name of the pool to serve (`[pools.NAME]`). */
  readonly pool: string;
}

/**
 * Loads the config, picks `args.pool`, and runs it as a standalone worker on fd 0 until
 * SIGTERM (see `runStandaloneWorker`). Diagnostics before the worker starts go to stderr, which
 * mod_fcgid connects to Apache's error log.
 *
 * @returns 0 after SIGTERM; 78 (EX_CONFIG) for a bad config or a pool the config does not
 *   define (the message names it and lists the pools); 70 (EX_SOFTWARE) when the runtime cannot
 *   start or fd 0 is not a listening socket.
 * @throws anything that is not a {@link ConfigError} (a bug), for `main()` to report.
 */
export async function workerCommand(args: WorkerArgs, io: CliIo): Promise<number> {
  let config;
  try {
    config = await loadConfig(args.config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of configProblems(error)) io.stderr(`${problem.message}\n`);
    return EX_CONFIG;
  }
  const pool = config.pools.find((p) => p.name === args.pool);
  if (pool === undefined) {
    const names = config.pools.map((p) => p.name).join(', ');
    io.stderr(`cgi-fpm worker: no pool ${JSON.stringify(args.pool)} in ${config.file} (pools: ${names})\n`);
    return EX_CONFIG;
  }
  // Loaded only here: `check` and `--help` stay free of the worker's imports.
  const { runStandaloneWorker } = await import('../../worker/standalone.ts');
  return runStandaloneWorker(pool, { logLevel: config.global.logLevel });
}

/** The yargs command module of `cgi-fpm worker --pool NAME -c FILE`. */
export function workerCommandModule(context: CliContext): CommandModule<object, WorkerArgs> {
  return {
    command: 'worker',
    describe: 'serve one pool as a standalone worker on the listening socket on fd 0 (Apache mod_fcgid)',
    builder: (cli) =>
      cli.option('config', configOption).option('pool', {
        type: 'string',
        demandOption: true,
        requiresArg: true,
        describe: 'the pool to serve ([pools.NAME] in the config)',
      }),
    handler: async (args) => {
      context.exitCode = await workerCommand(args, context.io);
    },
  };
}
