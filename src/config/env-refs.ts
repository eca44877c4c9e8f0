// This file implements `${NAME}` environment references from the perspective of an operator who
// keeps secrets and host-specific paths out of the config file: every string value of a parsed
// file (never a key, never a number) has its references replaced by the daemon's environment at
// load time, and a reference to an unset variable is an error naming the file, pool, key and
// variable, not a silently empty value.

import type { ConfigError } from '../errors.ts';
import { isTable } from './flatten.ts';
import { formatKeyPath } from './issues.ts';
import { configProblem } from './problems.ts';

/** `${NAME}` (a POSIX shell name), or `$${`, the escape for a literal `${`. */
const REFERENCE_RE = /\$\$\{|\$\{([^}]*)\}?/g;

/** A variable name as POSIX shells write it. */
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Where a value sits: its key path from the top of the file. */
type KeyPath = readonly (string | number)[];

/**
 * The message's pool and key for a value at `path`: under `pools.NAME` the pool is named and the
 * key is relative to it (`env.DB_URL`); elsewhere the key is the whole path (`global.control_socket`).
 */
function where(path: KeyPath): { pool?: string; key: string } {
  const [first, second, ...rest] = path;
  if (first === 'pools' && typeof second === 'string' && rest.length > 0) {
    return { pool: second, key: formatKeyPath(rest) };
  }
  return { key: formatKeyPath(path) };
}

/**
 * Replaces the references in one string.
 *
 * @returns the expanded text, or the reason it cannot be expanded.
 */
export function expandReferences(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; value: string } | { ok: false; reason: string } {
  let reason: string | undefined;
  const value = text.replace(REFERENCE_RE, (whole, name: string | undefined) => {
    if (whole === '$${') return '${';
    if (!whole.endsWith('}')) {
      reason ??= `unterminated reference ${JSON.stringify(whole)}: write \${NAME}, or $\${ for a literal \${`;
      return whole;
    }
    if (name === undefined || !NAME_RE.test(name)) {
      reason ??= `${JSON.stringify(whole)} is not a reference to an environment variable: write \${NAME} (letters, digits, "_"), or $\${ for a literal \${`;
      return whole;
    }
    const found = env[name];
    if (found === undefined) {
      reason ??= `\${${name}}: the environment variable ${name} is not set (set it in the daemon's environment, e.g. systemd's Environment= or EnvironmentFile=)`;
      return whole;
    }
    return found;
  });
  return reason === undefined ? { ok: true, value } : { ok: false, reason };
}

/**
 * Expands `${NAME}` in every string value of a parsed TOML document, at any depth (tables,
 * arrays, `env` values). Keys, numbers, booleans and dates are left alone; `$${` stands for a
 * literal `${`; any other `$` is kept as written.
 *
 * @param document - one parsed file.
 * @param env - the environment (`process.env`).
 * @param file - absolute path of the file, for messages.
 * @returns a copy with the references replaced, and a problem for each value that has a
 *   reference to an unset variable or a malformed one (`config: FILE: pool "blog": env.DB:
 *   ${DB_URL}: the environment variable DB_URL is not set …`).
 */
export function expandEnvReferences(
  document: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
  file: string,
): { document: Record<string, unknown>; problems: ConfigError[] } {
  const problems: ConfigError[] = [];
  const walk = (value: unknown, path: KeyPath): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('$')) return value;
      const expanded = expandReferences(value, env);
      if (expanded.ok) return expanded.value;
      const { pool, key } = where(path);
      problems.push(configProblem(file, `${key}: ${expanded.reason}`, pool === undefined ? { key } : { pool, key }));
      return value;
    }
    if (Array.isArray(value)) return value.map((item: unknown, i) => walk(item, [...path, i]));
    if (isTable(value)) {
      // defineProperty, so that a key named `__proto__` stays a key.
      const copy: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(value)) {
        Object.defineProperty(copy, key, { value: walk(child, [...path, key]), enumerable: true, writable: true, configurable: true });
      }
      return copy;
    }
    return value;
  };
  return { document: walk(document, []) as Record<string, unknown>, problems };
}
