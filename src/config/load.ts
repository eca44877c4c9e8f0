// This file implements loading the config file from the perspective of the daemon and the CLI:
// read the file once, parse, validate, resolve paths, check the roots, and hand back one deeply
// frozen DaemonConfig, or a ConfigError that lists every problem at once.

import * as nodeFs from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ConfigError } from '../errors.ts';
import { isTable } from './flatten.ts';
import type { ConfigFs } from './normalize.ts';
import { configProblem, formatValue, throwProblems } from './problems.ts';
import type { DaemonConfig, GlobalConfig, PoolConfig } from './schema.ts';
import { controlSocketProblems, sharedListenProblems } from './shared-listen.ts';
import { statusPageProblems } from './status-pages.ts';
import { suggestKey } from './suggest.ts';
import { parseSource, readConfigText, readSources } from './sources.ts';
import type { ConfigEnv, ConfigSources } from './sources.ts';
import { tempPathProblems } from './temp-path.ts';
import { TOP_LEVEL_KEYS } from './toml-schema.ts';
import { validatePool } from './validate.ts';
import { validateGlobal } from './validate-global.ts';

export type { ConfigFs } from './normalize.ts';
export { ConfigErrorList, configProblems } from './problems.ts';

function topLevelProblems(document: Record<string, unknown>, file: string): ConfigError[] {
  return Object.keys(document)
    .filter((key) => !TOP_LEVEL_KEYS.includes(key))
    .map((key) => {
      const suggestion = suggestKey(key, TOP_LEVEL_KEYS);
      const hint =
        suggestion === undefined
          ? '; keys belong in [global] or a [pools.NAME] table'
          : ` (did you mean "${suggestion}"?)`;
      return configProblem(file, `unknown key ${JSON.stringify(key)}${hint}`, { key });
    });
}

async function validatePools(
  sources: ConfigSources,
  file: string,
  fs: ConfigFs,
  problems: ConfigError[],
): Promise<PoolConfig[]> {
  const value = sources.document.pools;
  if (value !== undefined && !isTable(value)) {
    problems.push(
      configProblem(file, `pools must be a table of pools ([pools.NAME]), got ${formatValue(value)}`, {
        key: 'pools',
      }),
    );
    return [];
  }
  if (sources.pools.length === 0) {
    const included = sources.included.length === 0 ? '' : ` (nor in the ${sources.included.length} included files)`;
    problems.push(
      configProblem(file, `no pool defined${included}: add a [pools.NAME] table with listen and root`, { key: 'pools' }),
    );
    return [];
  }
  const results = await Promise.all(
    sources.pools.map((p) => validatePool(p.table, { file: p.file, baseDir: dirname(p.file), name: p.name }, fs)),
  );
  const pools: PoolConfig[] = [];
  for (const result of results) {
    if (result.ok) pools.push(result.pool);
    else problems.push(...result.problems);
  }
  return pools;
}

/** Freezes an object graph of plain objects and arrays. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Validates config text as if read from `file`: parse, validate, resolve paths relative to
 * `file`'s directory, check each pool's root on disk.
 *
 * @param text - the TOML text.
 * @param file - the path it came from (made absolute), for messages and relative paths.
 * @param fs - file system for the root checks; `node:fs/promises` by default.
 * @returns the normalized config, deeply frozen; pools in file order (JavaScript puts integer
 *   pool names such as `[pools.1]` first).
 * @throws ConfigError `ERR_CONFIG_SYNTAX` for invalid TOML; `ERR_CONFIG_INVALID` for one
 *   invalid value or key, or a {@link ConfigErrorList} (a ConfigError) listing several.
 */
export async function parseConfig(
  text: string,
  file: string,
  fs: ConfigFs = nodeFs,
  env: ConfigEnv = process.env,
): Promise<DaemonConfig> {
  const absolute = resolve(file);
  const sources = await readSources(text, absolute, fs, env);
  const problems = [...sources.problems, ...topLevelProblems(sources.document, absolute)];
  const global = validateGlobal(sources.document.global, absolute, problems);
  const pools = await validatePools(sources, absolute, fs, problems);
  throwProblems(absolute, problems);
  throwProblems(absolute, [
    ...sharedListenProblems(absolute, pools),
    ...controlSocketProblems(absolute, global.controlSocket, pools),
    ...(await tempPathProblems(absolute, global.fastcgiTempPath, fs)),
    ...statusPageProblems(absolute, pools),
  ]);
  const included = sources.included.length === 0 ? {} : { included: sources.included };
  return deepFreeze({ file: absolute, ...included, global, pools });
}

/**
 * Reads and validates a config file (read once; nothing is cached).
 *
 * @param file - path of the TOML file; relative paths are relative to the working directory.
 * @param fs - file system; `node:fs/promises` by default.
 * @returns the normalized config, deeply frozen.
 * @throws ConfigError `ERR_CONFIG_READ` when the file cannot be read, and everything
 *   {@link parseConfig} throws. Every message names the file.
 */
export async function loadConfig(
  file: string,
  fs: ConfigFs = nodeFs,
  env: ConfigEnv = process.env,
): Promise<DaemonConfig> {
  const absolute = resolve(file);
  return parseConfig(await readConfigText(absolute, fs), absolute, fs, env);
}

/**
 * Reads a config file for its `[global]` table only, as the control commands (`cgi-fpm
 * status`, `reload`, `stop`) do to find `control_socket`: problems in the pools (a file being
 * edited while the daemon runs the previous one) do not stop them from reaching the daemon.
 *
 * @param file - path of the TOML file; relative paths are relative to the working directory.
 * @param fs - file system; `node:fs/promises` by default.
 * @returns the `[global]` settings, `control_socket` resolved against the file's directory.
 * @throws ConfigError `ERR_CONFIG_READ` when the file cannot be read, `ERR_CONFIG_SYNTAX` for
 *   invalid TOML, `ERR_CONFIG_INVALID` (or a {@link ConfigErrorList}) for an invalid `[global]`.
 */
export async function loadGlobalConfig(
  file: string,
  fs: ConfigFs = nodeFs,
  env: ConfigEnv = process.env,
): Promise<GlobalConfig> {
  const absolute = resolve(file);
  const problems: ConfigError[] = [];
  const referenceProblems: ConfigError[] = [];
  const document = parseSource(await readConfigText(absolute, fs), absolute, env, referenceProblems);
  // Only [global]'s own references count: the pools may be mid-edit.
  problems.push(...referenceProblems.filter((p) => p.pool === undefined && p.key?.startsWith('global') === true));
  const global = validateGlobal(document.global, absolute, problems);
  throwProblems(absolute, problems);
  return Object.freeze(global);
}
