// This file implements the validation of the `[global]` table from the perspective of the
// loader: check it with the zod schema, resolve `control_socket` against the config file's
// directory, and turn every issue into a problem naming the file, key and value.

import { dirname, resolve } from 'node:path';
import type { ConfigError } from '../errors.ts';
import { flattenTable, isTable } from './flatten.ts';
import type { Flattened } from './flatten.ts';
import { resolveSocketPath } from './listen.ts';
import { configProblem, formatValue } from './problems.ts';
import type { GlobalConfig } from './schema.ts';
import { GLOBAL_KEYS, globalSchema } from './toml-schema.ts';
import { check, stringAt } from './validate.ts';

/** Defaults of `[global]`, returned alongside the problems when it is invalid. */
export const GLOBAL_DEFAULTS: GlobalConfig = Object.freeze({
  logLevel: 'info',
  controlSocket: undefined,
  processControlTimeoutMs: 10_000,
  clientHeaderTimeoutMs: 60_000,
  keepaliveTimeoutMs: 75_000,
});

/**
 * `control_socket` resolved against the config file's directory, or the problem with it;
 * `undefined` when the key is absent or not a non-empty string (the schema reports that).
 */
function resolveControlSocket(flat: Flattened, file: string, problems: ConfigError[]): string | undefined {
  const value = stringAt(flat, 'control_socket');
  if (value === undefined) return undefined;
  try {
    return resolveSocketPath(value, dirname(file));
  } catch (error) {
    const detail = `global.control_socket: invalid socket path ${JSON.stringify(value)}: ${(error as Error).message}`;
    problems.push(configProblem(file, detail, { key: 'global.control_socket' }, undefined, { cause: error }));
    return undefined;
  }
}

/**
 * Validates the `[global]` table (absent means all defaults). `control_socket` is checked even
 * when other keys are invalid, so every problem is reported at once.
 *
 * @param value - `document.global` as parsed.
 * @param file - absolute path of the config file; relative paths are relative to its directory.
 * @param problems - receives every problem found.
 * @returns the settings; the defaults when there were problems.
 */
export function validateGlobal(value: unknown, file: string, problems: ConfigError[]): GlobalConfig {
  if (value === undefined) return GLOBAL_DEFAULTS;
  if (!isTable(value)) {
    problems.push(
      configProblem(file, `global must be a table ([global]), got ${formatValue(value)}`, { key: 'global' }),
    );
    return GLOBAL_DEFAULTS;
  }
  const flat = flattenTable(value);
  const checked = check(globalSchema, flat, { file, keyPrefix: 'global.', knownKeys: GLOBAL_KEYS });
  const socketProblems: ConfigError[] = [];
  const controlSocket = resolveControlSocket(flat, file, socketProblems);
  if (!checked.ok) problems.push(...checked.problems);
  problems.push(...socketProblems);
  if (!checked.ok || socketProblems.length > 0) return GLOBAL_DEFAULTS;
  const errorLog = checked.value.error_log;
  const tempPath = checked.value.fastcgi_temp_path;
  return {
    logLevel: checked.value.log_level,
    controlSocket,
    processControlTimeoutMs: checked.value.process_control_timeout,
    clientHeaderTimeoutMs: checked.value.client_header_timeout,
    keepaliveTimeoutMs: checked.value.keepalive_timeout,
    ...(errorLog === undefined ? {} : { errorLog: resolve(dirname(file), errorLog) }),
    ...(tempPath === undefined ? {} : { fastcgiTempPath: resolve(dirname(file), tempPath) }),
  };
}
