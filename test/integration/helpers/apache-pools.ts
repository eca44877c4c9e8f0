// This file implements the pools behind Apache from the perspective of an issue-5 suite: one
// document root with a directory per pool (`exec/` runs Python, Perl and Node scripts by
// fork/exec, `python/` and `node/` run them in their persistent runtimes keeping globals),
// copied from fixtures/apache, and the `[pools]` table that serves them.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TomlDocument } from './config-file.ts';
import { REPO_ROOT } from './paths.ts';
import { SCRIPT_PATH } from './stack.ts';

/** The committed scripts: `info.py`, `info.pl`, `info.js`, each printing `name=value` lines. */
export const FIXTURES_APACHE = `${REPO_ROOT}/test/integration/fixtures/apache`;

/** The pools of the Apache suites, in config order. */
export const APACHE_POOLS = ['exec', 'python', 'node'] as const;

/** One of {@link APACHE_POOLS}. */
export type ApachePool = (typeof APACHE_POOLS)[number];

/** `[pool, script, language]`: the exec pool runs all three languages, the others their own. */
export const APACHE_SCRIPTS: readonly (readonly [ApachePool, string, string])[] = [
  ['exec', 'info.py', 'python'],
  ['exec', 'info.pl', 'perl'],
  ['exec', 'info.js', 'node'],
  ['python', 'info.py', 'python'],
  ['node', 'info.js', 'node'],
];

/** Which fixture scripts each pool's root gets. */
const SCRIPTS: Readonly<Record<ApachePool, readonly string[]>> = {
  exec: ['info.py', 'info.pl', 'info.js'],
  python: ['info.py'],
  node: ['info.js'],
};

/**
 * Copies the fixtures into `docRoot/exec`, `docRoot/python` and `docRoot/node` (modes kept, so
 * the exec pool's scripts stay executable).
 * @returns the root of each pool
 */
export async function copyApacheFixtures(docRoot: string): Promise<Record<ApachePool, string>> {
  const roots = { exec: join(docRoot, 'exec'), python: join(docRoot, 'python'), node: join(docRoot, 'node') };
  for (const pool of APACHE_POOLS) {
    await mkdir(roots[pool], { recursive: true, mode: 0o755 });
    for (const script of SCRIPTS[pool])
      await copyFile(join(FIXTURES_APACHE, script), join(roots[pool], script));
  }
  return roots;
}

/**
 * The `[pools]` table: `exec` (2 workers), `python` and `node` (one worker each, so the state
 * a request leaves is seen by the next one) with `state.globals = "keep"`.
 * @param listen - each pool's unix socket (mode 0666: Apache's children run as www-data)
 */
export function apachePools(
  roots: Record<ApachePool, string>,
  listen: Record<ApachePool, string>,
): TomlDocument {
  const common = {
    'listen.mode': '0666',
    request_terminate_timeout: '30s',
    env: { PATH: SCRIPT_PATH },
    clear_env: true,
  };
  return {
    exec: {
      ...common,
      listen: listen.exec,
      root: roots.exec,
      match: ['*.py', '*.pl', '*.js'],
      runtime: 'exec',
      pm: { max_children: 2 },
    },
    python: {
      ...common,
      listen: listen.python,
      root: roots.python,
      match: ['*.py'],
      runtime: 'python',
      pm: { max_children: 1 },
      'state.globals': 'keep',
    },
    node: {
      ...common,
      listen: listen.node,
      root: roots.node,
      match: ['*.js'],
      runtime: 'node',
      pm: { max_children: 1 },
      'state.globals': 'keep',
    },
  };
}

/** The `name=value` lines of an `info.*` answer. */
export function infoFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** The JSON log lines a standalone worker wrote into Apache's error log (mod_fcgid's stderr). */
export function workerLogLines(errorLog: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of errorLog.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by a concurrent writer: not ours to check
    }
  }
  return out;
}
