// This file implements the reading of a config's sources from the perspective of the loader: the
// main file's text, then each file its `include` globs match (sorted), each parsed and with its
// `${NAME}` references expanded, and every pool table tagged with the file it came from, so that
// relative paths and messages are that file's.

import { ErrorCode } from '../errors.ts';
import type { ConfigError } from '../errors.ts';
import { expandEnvReferences } from './env-refs.ts';
import { isTable } from './flatten.ts';
import { includedFileProblems, includePatterns, INCLUDE_KEY, matchInclude } from './include.ts';
import type { ConfigFs } from './config-fs.ts';
import { configProblem, describeSystemError } from './problems.ts';
import { parseToml } from './syntax.ts';

/** The environment `${NAME}` references read. */
export type ConfigEnv = Readonly<Record<string, string | undefined>>;

/** One `[pools.NAME]` table and the file that defines it. */
export interface PoolSource {
  readonly name: string;
  readonly table: unknown;
  /** Absolute path of the file holding the table (the main file or an included one). */
  readonly file: string;
}

/** What the files of a config hold, before validation. */
export interface ConfigSources {
  /** The main file's top level, references expanded (`pools` and `include` included). */
  readonly document: Readonly<Record<string, unknown>>;
  /** Every pool, the main file's first, then each included file's in sorted file order. */
  readonly pools: readonly PoolSource[];
  /** Absolute paths of the included files, in the order they were read. */
  readonly included: readonly string[];
  /** Problems found so far (bad `include`, included files' top levels, duplicate pools, references). */
  readonly problems: readonly ConfigError[];
}

/** Reads a whole file once. @throws ConfigError `ERR_CONFIG_READ` naming the file. */
export async function readConfigText(absolute: string, fs: ConfigFs): Promise<string> {
  try {
    return await fs.readFile(absolute, 'utf8');
  } catch (error) {
    const detail = `cannot read the config file: ${describeSystemError(error)}`;
    throw configProblem(absolute, detail, {}, ErrorCode.ERR_CONFIG_READ, { cause: error });
  }
}

/**
 * Parses one file and expands its references.
 * @throws ConfigError `ERR_CONFIG_SYNTAX` for invalid TOML, naming the file, line and column.
 */
export function parseSource(text: string, file: string, env: ConfigEnv, problems: ConfigError[]): Record<string, unknown> {
  const expanded = expandEnvReferences(parseToml(text, file), env, file);
  problems.push(...expanded.problems);
  return expanded.document;
}

function poolsOf(document: Readonly<Record<string, unknown>>, file: string): PoolSource[] {
  const pools = document.pools;
  if (!isTable(pools)) return [];
  return Object.entries(pools).map(([name, table]) => ({ name, table, file }));
}

/** The problem of a pool defined twice: the second definition is dropped. */
function duplicatePool(pool: PoolSource, first: PoolSource): ConfigError {
  const where = first.file === pool.file ? 'in this file' : `in ${first.file}`;
  const detail = `the pool is already defined ${where}; each [pools.NAME] must be unique across included files`;
  return configProblem(pool.file, detail, { pool: pool.name });
}

/**
 * Reads the main file and every file its `include` matches.
 *
 * @param main - absolute path of the main file, whose text is `text`.
 * @throws ConfigError `ERR_CONFIG_SYNTAX` for invalid TOML in any file, `ERR_CONFIG_READ` for
 *   an included file that cannot be read or a directory that cannot be listed.
 */
export async function readSources(text: string, main: string, fs: ConfigFs, env: ConfigEnv): Promise<ConfigSources> {
  const problems: ConfigError[] = [];
  const document = parseSource(text, main, env, problems);
  const { patterns, problems: includeProblems } = includePatterns(document[INCLUDE_KEY], main);
  problems.push(...includeProblems);
  const included: string[] = [];
  for (const pattern of patterns) {
    for (const file of await matchInclude(pattern, main, fs)) if (file !== main && !included.includes(file)) included.push(file);
  }
  const pools = poolsOf(document, main);
  for (const file of included) {
    const source = parseSource(await readConfigText(file, fs), file, env, problems);
    problems.push(...includedFileProblems(source, file, main));
    pools.push(...poolsOf(source, file));
  }
  const unique: PoolSource[] = [];
  for (const pool of pools) {
    const first = unique.find((p) => p.name === pool.name);
    if (first === undefined) unique.push(pool);
    else problems.push(duplicatePool(pool, first));
  }
  return { document, pools: unique, included, problems };
}
