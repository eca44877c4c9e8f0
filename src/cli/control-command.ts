// This file implements what `cgi-fpm status`, `reload` and `stop` share from the perspective of
// an operator: find `control_socket` in the config file, ask the daemon, and turn every way
// that can fail into one clear stderr line and a sysexits code.

import { resolve } from 'node:path';
import { loadGlobalConfig } from '../config/load.ts';
import { configProblems } from '../config/problems.ts';
import { ConfigError, ControlError, ErrorCode, TimeoutError } from '../errors.ts';
import type { ControlCommand } from '../supervisor/control/control-protocol.ts';
import { EX_CONFIG, EX_NOPERM, EX_PROTOCOL, EX_TEMPFAIL, EX_UNAVAILABLE } from './exit-codes.ts';
import type { CliIo } from './io.ts';

/** Arguments of `cgi-fpm reload` and `cgi-fpm stop` (and the base of `status`'s). */
export interface ControlArgs {
  /** Path of the TOML config file naming `control_socket`. */
  readonly config: string;
}

/** The daemon's reply, or the exit code after the failure was written to stderr. */
export type Asked<R> =
  { readonly ok: true; readonly reply: R } | { readonly ok: false; readonly exitCode: number };

const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.ERR_CONTROL_UNAVAILABLE]: EX_UNAVAILABLE,
  [ErrorCode.ERR_CONTROL_DENIED]: EX_NOPERM,
  [ErrorCode.ERR_CONTROL_PROTOCOL]: EX_PROTOCOL,
  [ErrorCode.ERR_TIMEOUT]: EX_TEMPFAIL,
};

/** The exit code of a failed exchange: 69 not running, 77 denied, 76 not understood, 75 silent. */
export function controlExitCode(error: ControlError | TimeoutError): number {
  return EXIT_CODES[error.code] ?? EX_UNAVAILABLE;
}

/** `control_socket` of the file, or the exit code after saying why there is none. */
async function controlSocketOf(
  verb: ControlCommand,
  configFile: string,
  io: CliIo,
): Promise<string | number> {
  const file = resolve(configFile);
  try {
    const { controlSocket } = await loadGlobalConfig(file);
    if (controlSocket !== undefined) return controlSocket;
    io.stderr(`${verb}: no control_socket in ${file} ([global] control_socket)\n`);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of configProblems(error)) io.stderr(`${problem.message}\n`);
  }
  return EX_CONFIG;
}

/**
 * Reads `[global] control_socket` from the config file (only `[global]`: the pools may be
 * mid-edit) and sends the daemon one request.
 *
 * @param verb - the command, for messages.
 * @param configFile - the `-c` path.
 * @param io - where failures are written.
 * @param request - sends the request to the socket path (control-client.ts).
 * @returns the reply; or `78` (no control socket, bad `[global]`), `69` (not running), `77`
 *   (permission denied), `76` (reply not understood), `75` (no answer in time).
 * @throws anything other than a ConfigError, ControlError or TimeoutError (a bug).
 */
export async function askDaemon<R>(
  verb: ControlCommand,
  configFile: string,
  io: CliIo,
  request: (socketPath: string) => Promise<R>,
): Promise<Asked<R>> {
  const socketPath = await controlSocketOf(verb, configFile, io);
  if (typeof socketPath === 'number') return { ok: false, exitCode: socketPath };
  try {
    return { ok: true, reply: await request(socketPath) };
  } catch (error) {
    if (!(error instanceof ControlError || error instanceof TimeoutError)) throw error;
    io.stderr(`${error.message}\n`);
    return { ok: false, exitCode: controlExitCode(error) };
  }
}
