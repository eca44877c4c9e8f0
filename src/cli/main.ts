#!/usr/bin/env node
// This file implements the `cgi-fpm` command line from the perspective of the process that
// runs it: parse argv with yargs, run one command, map the outcome to a sysexits code, and
// exit. It is the only place in cgi-fpm that calls `process.exit`.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError } from '../errors.ts';
import { configProblems } from '../config/problems.ts';
import { VERSION } from '../version.ts';
import { checkCommandModule } from './commands/check.ts';
import { installLayoutCommandModule } from './commands/install-layout.ts';
import { reloadCommandModule } from './commands/reload.ts';
import { startCommandModule } from './commands/start-module.ts';
import { statusCommandModule } from './commands/status.ts';
import { drainCommandModule } from './commands/drain.ts';
import { stopCommandModule } from './commands/stop.ts';
import { workerCommandModule } from './commands/worker.ts';
import { EX_CONFIG, EX_OK, EX_SOFTWARE, EX_USAGE } from './exit-codes.ts';
import type { CliContext, CliIo } from './io.ts';

/** A command line yargs refused (unknown command or option, missing value). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Writes to the real stdout/stderr. */
export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * The `cgi-fpm` command line (yargs ≥ 18 factory): `check`, `start`, and `status`, `reload`,
 * `stop` (which talk to the daemon over its control socket), `worker` (one pool on fd 0, for
 * Apache mod_fcgid), `install-layout` (/etc/cgi-fpm, units, tmpfiles.d), `--help`, `--version`; strict
 * (unknown options and commands are usage errors), one command required.
 * It never exits the process: usage errors are thrown as {@link UsageError}, and the command
 * that runs sets `context.exitCode`.
 *
 * @param argv - arguments after `node main.js` (`hideBin(process.argv)`).
 * @param context - where commands write and report their exit code.
 */
export function buildCli(
  argv: readonly string[],
  context: CliContext = { io: processIo, exitCode: EX_OK },
): Argv {
  return yargs(argv)
    .scriptName('cgi-fpm')
    .usage('$0 <command> [options]\n\nA FastCGI process manager for CGI scripts: the PHP-FPM of CGI.')
    .command(checkCommandModule(context))
    .command(startCommandModule(context))
    .command(statusCommandModule(context))
    .command(reloadCommandModule(context))
    .command(stopCommandModule(context))
    .command(drainCommandModule(context))
    .command(workerCommandModule(context))
    .command(installLayoutCommandModule(context))
    .demandCommand(1, 'name a command: check, start, status, reload, stop or worker; drain takes a host out of a balancer; install-layout sets up /etc/cgi-fpm')
    .recommendCommands()
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .exitProcess(false)
    .fail((message: string | null, error: Error | string | undefined) => {
      // yargs reports its own validation failures as a YError (e.g. `-c` without a value), and
      // a `.check()` that returns a message as that string; any other error was thrown by a
      // command handler.
      if (error instanceof Error && error.name !== 'YError') throw error;
      throw new UsageError(message ?? (error instanceof Error ? error.message : error) ?? 'invalid command line');
    });
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.stderr(`cgi-fpm: ${error.message}\nRun "cgi-fpm --help" for usage.\n`);
    return EX_USAGE;
  }
  if (error instanceof ConfigError) {
    for (const problem of configProblems(error)) io.stderr(`${problem.message}\n`);
    return EX_CONFIG;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr(`cgi-fpm: internal error: ${detail}\n`);
  return EX_SOFTWARE;
}

/**
 * Runs one command line to completion and returns the exit code: the command's own (0; 78
 * for a bad config; 69, 75, 76, 77 when the control socket fails), 64 (EX_USAGE) for a bad
 * command line, 78 (EX_CONFIG) for a ConfigError that escaped a command, 70 (EX_SOFTWARE) for
 * anything else.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const context: CliContext = { io, exitCode: EX_OK };
  try {
    await buildCli(argv, context).parseAsync([...argv], {}, (_error, _args, output) => {
      if (output !== '') io.stdout(`${output}\n`);
    });
    return context.exitCode;
  } catch (error) {
    return report(error, io);
  }
}

/** Resolves once everything written to `stream` so far has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.write('', () => {
      resolve();
    });
  });
}

/**
 * The `cgi-fpm` binary: runs `process.argv`, flushes stdout and stderr (writes to pipes are
 * asynchronous, and `process.exit` would cut them short), and exits with the code.
 */
export async function main(): Promise<never> {
  const code = await runCli(hideBin(process.argv));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** True when this file is the script node runs (also through a symlink such as npm's bin). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) void main();
