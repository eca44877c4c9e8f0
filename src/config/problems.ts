// This file implements config error messages from the perspective of an operator reading them:
// each names the file, the pool, the key and the value (`config: /etc/cgi-fpm.toml: pool
// "blog": pm.max_children must be ≥ 1, got 0`), and all problems of a file are reported at once.

import { ConfigError, ErrorCode } from '../errors.ts';

/** Where a problem is: the pool (if in one) and the key path (relative to the pool if in one). */
export interface ProblemContext {
  readonly pool?: string;
  readonly key?: string;
}

/**
 * Several config problems found in one file, thrown as one error. `errors` lists each; the
 * message is their messages, one per line. `code` is the shared code of all of them, else
 * `ERR_CONFIG_INVALID`.
 */
export class ConfigErrorList extends ConfigError {
  /** Each problem, in the order it was found (file order, then key order). */
  readonly errors: readonly ConfigError[];

  constructor(file: string, errors: readonly ConfigError[]) {
    const first = errors[0];
    const shared = first !== undefined && errors.every((e) => e.code === first.code);
    const code = shared ? first.code : ErrorCode.ERR_CONFIG_INVALID;
    super(code, errors.map((e) => e.message).join('\n'), { file });
    this.errors = Object.freeze([...errors]);
  }
}

/**
 * Every problem an error carries: the list of a {@link ConfigErrorList}, else the error itself.
 */
export function configProblems(error: ConfigError): readonly ConfigError[] {
  return error instanceof ConfigErrorList ? error.errors : [error];
}

/**
 * Builds one problem: `config: FILE: [pool "NAME": ]DETAIL`.
 *
 * @param file - absolute path of the config file.
 * @param detail - what is wrong, starting with the key (`pm.max_children must be ≥ 1, got 0`).
 * @param context - the pool and key, copied onto the error for callers that match on them.
 * @param code - defaults to `ERR_CONFIG_INVALID`.
 */
export function configProblem(
  file: string,
  detail: string,
  context: ProblemContext = {},
  code: ErrorCode = ErrorCode.ERR_CONFIG_INVALID,
  options?: ErrorOptions,
): ConfigError {
  const where = context.pool === undefined ? '' : `pool ${JSON.stringify(context.pool)}: `;
  return new ConfigError(code, `config: ${file}: ${where}${detail}`, { file, ...context }, options);
}

/**
 * Throws when there is anything to report: the problem itself when there is one, a
 * {@link ConfigErrorList} when there are several.
 */
export function throwProblems(file: string, problems: readonly ConfigError[]): void {
  const [first] = problems;
  if (first === undefined) return;
  throw problems.length === 1 ? first : new ConfigErrorList(file, problems);
}

/** Renders a config value for a message: strings quoted, arrays listed, tables as "a table". */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return 'a table';
  return String(value);
}

/**
 * Describes a failed system call for a message: `ENOENT (no such file or directory)`, taken
 * from Node's `"ENOENT: no such file or directory, open '…'"`, without repeating the path.
 */
export function describeSystemError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code !== 'string') return message;
  const text = new RegExp(`^${code}: ([^,]+)`).exec(message)?.[1];
  return text === undefined ? code : `${code} (${text})`;
}
