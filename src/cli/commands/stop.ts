// This file implements `cgi-fpm stop` from the perspective of an operator stopping the daemon
// without its pid: the daemon stops as on SIGTERM (requests in flight finish, up to
// `process_control_timeout`); the command returns once the daemon has accepted.

import type { CommandModule } from 'yargs';
import { askDaemon } from '../control-command.ts';
import type { ControlArgs } from '../control-command.ts';
import { requestStop } from '../control-client.ts';
import { EX_OK, EX_SOFTWARE } from '../exit-codes.ts';
import { configOption } from '../io.ts';
import type { CliContext, CliIo } from '../io.ts';

/**
 * Asks the daemon on `control_socket` to stop gracefully.
 *
 * @returns `0` after printing `stopping`; `78` when the config names no control socket; `69`
 *   when the daemon is not running; `77`, `76`, `75` as {@link askDaemon}; `70` when the
 *   daemon answered with an error.
 */
export async function stopCommand(args: ControlArgs, io: CliIo): Promise<number> {
  const asked = await askDaemon('stop', args.config, io, (path) => requestStop(path));
  if (!asked.ok) return asked.exitCode;
  if (asked.reply.ok) {
    io.stdout('stopping\n');
    return EX_OK;
  }
  for (const error of asked.reply.errors) io.stderr(`${error}\n`);
  return EX_SOFTWARE;
}

/** The yargs command module of `cgi-fpm stop -c FILE`. */
export function stopCommandModule(context: CliContext): CommandModule<object, ControlArgs> {
  return {
    command: 'stop',
    describe: 'stop the running daemon gracefully (as SIGTERM)',
    builder: (cli) => cli.option('config', configOption),
    handler: async (args) => {
      context.exitCode = await stopCommand(args, context.io);
    },
  };
}
