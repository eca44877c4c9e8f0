// This file implements `cgi-fpm drain` from the perspective of an operator taking one host out
// of a load-balanced set for a deploy: the daemon drains as on SIGTERM (no new connections, the
// ping page answers 503, requests in flight and queued finish within `process_control_timeout`)
// and the command returns only once it has, so a deploy script can go on at once.

import type { CommandModule } from 'yargs';
import { askDaemon } from '../control-command.ts';
import type { ControlArgs } from '../control-command.ts';
import { requestDrain } from '../control-client.ts';
import { EX_OK, EX_SOFTWARE } from '../exit-codes.ts';
import { configOption } from '../io.ts';
import type { CliContext, CliIo } from '../io.ts';

/**
 * Asks the daemon on `control_socket` to drain and waits until it has.
 *
 * @returns `0` after printing `drained` (every request finished, the workers gone); `70` when
 *   `process_control_timeout` cut requests short (printed); `78` when the config names no
 *   control socket; `69` when the daemon is not running; `77`, `76`, `75` as {@link askDaemon}.
 */
export async function drainCommand(args: ControlArgs, io: CliIo): Promise<number> {
  const asked = await askDaemon('drain', args.config, io, (path) => requestDrain(path));
  if (!asked.ok) return asked.exitCode;
  if (asked.reply.ok) {
    io.stdout('drained\n');
    return EX_OK;
  }
  for (const error of asked.reply.errors) io.stderr(`${error}\n`);
  return EX_SOFTWARE;
}

/** The yargs command module of `cgi-fpm drain -c FILE`. */
export function drainCommandModule(context: CliContext): CommandModule<object, ControlArgs> {
  return {
    command: 'drain',
    describe: 'drain the running daemon (as SIGTERM) and wait until every request finished',
    builder: (cli) => cli.option('config', configOption),
    handler: async (args) => {
      context.exitCode = await drainCommand(args, context.io);
    },
  };
}
