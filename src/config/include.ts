// This file implements `include = ["pool.d/*.toml"]` from the perspective of a host that keeps
// one file per customer, as PHP-FPM's `include=/etc/php/fpm/pool.d/*.conf` does: each pattern
// is a glob relative to the including file's directory, the matching files are read in sorted
// order, and each holds `[pools.NAME]` tables only, whose relative paths and error messages are
// its own.

import { dirname, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import { ErrorCode } from '../errors.ts';
import type { ConfigError } from '../errors.ts';
import { isTable } from './flatten.ts';
import type { ConfigFs } from './config-fs.ts';
import { configProblem, describeSystemError, formatValue } from './problems.ts';

/** The top-level key naming the files to include. */
export const INCLUDE_KEY = 'include';

/** The top-level keys an included file may hold. */
export const INCLUDED_FILE_KEYS: readonly string[] = ['pools'];

/**
 * The `include` patterns of a document: absent is none; a string is one pattern; otherwise an
 * array of non-empty strings. Each is made absolute against `baseDir`.
 *
 * @returns the absolute patterns, and a problem for each entry that is not a non-empty string.
 */
export function includePatterns(
  value: unknown,
  file: string,
): { patterns: string[]; problems: ConfigError[] } {
  if (value === undefined) return { patterns: [], problems: [] };
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) {
    const detail = `include must be an array of globs such as ["pool.d/*.toml"], got ${formatValue(value)}`;
    return { patterns: [], problems: [configProblem(file, detail, { key: INCLUDE_KEY })] };
  }
  const patterns: string[] = [];
  const problems: ConfigError[] = [];
  list.forEach((entry: unknown, i) => {
    if (typeof entry === 'string' && entry !== '') patterns.push(resolve(dirname(file), entry));
    else {
      const key = `${INCLUDE_KEY}[${i}]`;
      problems.push(configProblem(file, `${key} must be a non-empty string (a glob), got ${formatValue(entry)}`, { key }));
    }
  });
  return { patterns, problems };
}

/** True when the glob part of a pattern can match below its first directory level. */
function crossesDirectories(glob: string): boolean {
  return glob.includes('/') || glob.includes('**');
}

/**
 * The regular files matching one absolute glob, sorted by path (byte order, as glob(3) in the C
 * locale). A pattern without glob characters names one file, which must exist; a glob that
 * matches nothing gives no file (as PHP-FPM, which only warns), and a missing base directory is
 * the same as an empty one.
 *
 * @throws ConfigError `ERR_CONFIG_READ` when a directory cannot be listed (other than missing)
 *   or a literal file is missing.
 */
export async function matchInclude(pattern: string, from: string, fs: ConfigFs): Promise<string[]> {
  const scan = picomatch.scan(pattern);
  if (!scan.isGlob) return [pattern];
  const base = scan.base === '' ? '/' : scan.base;
  const isMatch = picomatch(scan.glob, { dot: false });
  let names: string[];
  try {
    names = await fs.readdir(base, { recursive: crossesDirectories(scan.glob) });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    const detail = `include: cannot list ${JSON.stringify(base)} for ${JSON.stringify(pattern)}: ${describeSystemError(error)}`;
    throw configProblem(from, detail, { key: INCLUDE_KEY }, ErrorCode.ERR_CONFIG_READ, { cause: error });
  }
  const matched: string[] = [];
  for (const name of names.filter((n) => isMatch(n))) {
    const path = join(base, name);
    try {
      if (!(await fs.stat(path)).isDirectory()) matched.push(path);
    } catch {
      // A dangling symlink or a file removed meanwhile: nothing to include.
    }
  }
  return matched.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** One included file's pools, in its own order. */
export interface IncludedPools {
  /** Absolute path of the included file. */
  readonly file: string;
  /** `[pools.NAME]` tables as parsed. */
  readonly pools: Readonly<Record<string, unknown>>;
}

/**
 * The problems of an included file's top level: only `[pools.NAME]` tables are allowed (the
 * `[global]` table and `include` belong in the main file).
 */
export function includedFileProblems(document: Readonly<Record<string, unknown>>, file: string, main: string): ConfigError[] {
  const problems: ConfigError[] = [];
  for (const key of Object.keys(document)) {
    if (INCLUDED_FILE_KEYS.includes(key)) continue;
    const detail = `${key === 'global' || key === INCLUDE_KEY ? `${JSON.stringify(key)} belongs in the main file (${main}), not in an included file` : `unknown key ${JSON.stringify(key)}`}; an included file holds [pools.NAME] tables only`;
    problems.push(configProblem(file, detail, { key }));
  }
  const pools = document.pools;
  if (pools !== undefined && !isTable(pools)) {
    problems.push(configProblem(file, `pools must be a table of pools ([pools.NAME]), got ${formatValue(pools)}`, { key: 'pools' }));
  }
  return problems;
}
