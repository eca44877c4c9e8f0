// This file implements python pools under test from the perspective of an issue-3 suite: each
// pool gets its own copy of fixtures/python inside nginx's document root (the stack's root),
// so `/NAME/script.py` reaches pool NAME through nginx, with the runtime and state policy the
// suite asks for.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { TomlDocument } from './helpers/config-file.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { defaultPool, type StackPaths } from './helpers/stack.ts';

/** The committed python CGI fixtures. */
export const FIXTURES_PYTHON = `${REPO_ROOT}/test/integration/fixtures/python`;

/** Keys of one python pool, over {@link defaultPool} and `runtime = "python"`. */
export type PythonPoolKeys = TomlDocument;

/**
 * A `pools` function for `useStack`: pool `name` serves a copy of fixtures/python at
 * `ROOT/name/` with `runtime = "python"`, one worker (so state kept between requests is seen
 * by the next one) and the given keys on top.
 */
export function pythonPools(
  pools: Readonly<Record<string, PythonPoolKeys>>,
): (paths: StackPaths) => Promise<TomlDocument> {
  return async ({ root, fastcgiSocket }) => {
    const config: Record<string, TomlDocument> = {};
    for (const [name, keys] of Object.entries(pools)) {
      const poolRoot = join(root, name);
      await cp(FIXTURES_PYTHON, poolRoot, { recursive: true });
      config[name] = {
        ...defaultPool(poolRoot, fastcgiSocket),
        runtime: 'python',
        pm: { max_children: 1 },
        ...keys,
      };
    }
    return config;
  };
}

/** The body lines of a text response as `name=value` pairs. */
export function fields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
