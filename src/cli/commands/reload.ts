// This file implements `cgi-fpm reload` from the perspective of an operator who edited the
// config file: the running daemon reads and checks it, and either applies it ("reloaded") or
// refuses it, keeps the old one, and says why (exit 78, as `cgi-fpm check`).

import type { CommandModule } from 'yargs';
import { askDaemon } from '../control-command.ts';
import type { ControlArgs } from '../control-command.ts';
import { requestReload } from '../control-client.ts';
import { EX_CONFIG, EX_OK } from '../exit-codes.ts';
import { configOption } from '../io.ts';
import type { CliContext, CliIo } from '../io.ts';

/**
 * Asks the daemon on `control_socket` to reload its config file (as SIGHUP/SIGUSR2 do).
 *
 * @returns `0` after printing `reloaded`; `78` after printing each problem of a refused config
 *   (the daemon keeps running the old one), or when the config names no control socket; `69`
 *   when the daemon is not running; `77`, `76`, `75` as {@link askDaemon}.
 */
export async function reloadCommand(args: ControlArgs, io: CliIo): Promise<number> {
  const asked = await askDaemon('reload', args.config, io, (path) => requestReload(path));
  if (!asked.ok) return asked.exitCode;
  if (asked.reply.ok) {
    io.stdout('reloaded\n');
    return EX_OK;
  }
  for (const error of asked.reply.errors) io.stderr(`${error}\n`);
  io.stderr('reload: refused; the daemon keeps running the previous config\n');
  return EX_CONFIG;
}

/** The yargs command module of `cgi-fpm reload -c FILE`. */
export function reloadCommandModule(context: CliContext): CommandModule<object, ControlArgs> {
  return {
    command: 'reload',
    describe: 'make the running daemon reload its config file (refused if invalid: exit 78)',
    builder: (cli) => cli.option('config', configOption),
    handler: async (args) => {
      context.exitCode = await reloadCommand(args, context.io);
    },
  };
}
