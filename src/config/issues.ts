// This file implements the translation of zod issues into config problems from the perspective
// of an operator: PHP-FPM key spellings, "must be ≥ 1, got 0", and "did you mean" suggestions
// for unknown keys.

import type { z } from 'zod';
import type { ConfigError } from '../errors.ts';
import { configProblem, formatValue } from './problems.ts';
import { suggestKey } from './suggest.ts';

/** Where the validated table sits, for messages. */
export interface IssueScope {
  /** Absolute path of the config file. */
  readonly file: string;
  /** The pool the table belongs to, if any. */
  readonly pool?: string;
  /** Prepended to every key path (`"global."` for the `[global]` table). */
  readonly keyPrefix?: string;
  /** The keys valid in that table, for "did you mean". */
  readonly knownKeys: readonly string[];
}

type Issue = z.core.$ZodIssue;

const EXPECTED: Readonly<Record<string, string>> = {
  int: 'an integer',
  number: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'an array',
  record: 'a table',
  object: 'a table',
};

/** `["env", "A=B"]` → `env."A=B"`; `["match", 0]` → `match[0]`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const name = String(segment);
      const shown = out !== '' && !/^[A-Za-z0-9_-]+$/.test(name) ? JSON.stringify(name) : name;
      out += out === '' ? shown : `.${shown}`;
    }
  }
  return out;
}

function requirement(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${EXPECTED[issue.expected] ?? issue.expected}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') return `must list at least ${issue.minimum} entry`;
      return `must be ≥ ${issue.minimum}`;
    case 'too_big':
      return `must be ≤ ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_key':
      return `is not a valid name (${issue.issues.map((i) => i.message).join('; ')})`;
    case 'invalid_format':
    case 'invalid_union':
    case 'invalid_element':
    case 'not_multiple_of':
    case 'unrecognized_keys':
    case 'custom':
      return issue.message;
  }
}

function describe(issue: Issue, key: string): string {
  if (issue.code === 'custom') return `${key}: ${issue.message}`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${key} is required`;
  if (issue.code === 'invalid_key') return `${key} ${requirement(issue)}`;
  return `${key} ${requirement(issue)}, got ${formatValue(issue.input)}`;
}

function unknownKeys(keys: readonly string[], base: string, scope: IssueScope): ConfigError[] {
  return keys.map((name) => {
    const key = `${scope.keyPrefix ?? ''}${base === '' ? name : `${base}.${name}`}`;
    const suggestion = base === '' ? suggestKey(name, scope.knownKeys) : undefined;
    const hint = suggestion === undefined ? '' : ` (did you mean "${scope.keyPrefix ?? ''}${suggestion}"?)`;
    return problem(scope, key, `unknown key ${JSON.stringify(key)}${hint}`);
  });
}

function problem(scope: IssueScope, key: string, detail: string): ConfigError {
  return configProblem(scope.file, detail, scope.pool === undefined ? { key } : { key, pool: scope.pool });
}

/**
 * The problems one zod issue stands for (several for unknown keys), each message naming the
 * file, the pool, the key path and the value.
 */
export function issueProblems(issue: Issue, scope: IssueScope): ConfigError[] {
  const base = formatKeyPath(issue.path);
  if (issue.code === 'unrecognized_keys') return unknownKeys(issue.keys, base, scope);
  const key = `${scope.keyPrefix ?? ''}${base}`;
  return [problem(scope, key, describe(issue, key))];
}
