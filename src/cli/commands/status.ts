// This file implements `cgi-fpm status` from the perspective of an operator asking a running
// daemon how its pools are doing, as PHP-FPM's status page answers: a table per pool, or the
// raw JSON with `--json`.

import type { CommandModule } from 'yargs';
import { askDaemon } from '../control-command.ts';
import type { ControlArgs } from '../control-command.ts';
import { requestStatus } from '../control-client.ts';
import { EX_OK, EX_SOFTWARE } from '../exit-codes.ts';
import { configOption } from '../io.ts';
import type { CliContext, CliIo } from '../io.ts';
import { formatStatus } from '../status-format.ts';

/** Arguments of `cgi-fpm status`. */
export interface StatusArgs extends ControlArgs {
  /** Print the status as JSON (the control socket's `status` object) instead of a table. */
  readonly json: boolean;
}

/**
 * Asks the daemon on `control_socket` for its status and prints it.
 *
 * @returns `0`; `78` when the config names no control socket; `69` when the daemon is not
 *   running; `77`, `76`, `75` as {@link askDaemon}; `70` when the daemon answered with an error.
 */
export async function statusCommand(args: StatusArgs, io: CliIo): Promise<number> {
  const asked = await askDaemon('status', args.config, io, (path) => requestStatus(path));
  if (!asked.ok) return asked.exitCode;
  const { reply } = asked;
  if (!reply.ok) {
    for (const error of reply.errors) io.stderr(`${error}\n`);
    return EX_SOFTWARE;
  }
  io.stdout(args.json ? `${JSON.stringify(reply.status, null, 2)}\n` : formatStatus(reply.status));
  return EX_OK;
}

/** The yargs command module of `cgi-fpm status -c FILE [--json]`. */
export function statusCommandModule(context: CliContext): CommandModule<object, StatusArgs> {
  return {
    command: 'status',
    describe: 'show each pool of the running daemon: workers, queue, counters, backoff',
    builder: (cli) =>
      cli.option('config', configOption).option('json', {
        type: 'boolean',
        default: false,
        describe: 'print the status as JSON',
      }),
    handler: async (args) => {
      context.exitCode = await statusCommand(args, context.io);
    },
  };
}
