// This file implements the set-up the direct python suites share, from the perspective of a
// suite that runs a `dispatch = "direct"` python pool behind nginx: the python fixtures in the
// stack's root, the pool's keys, reading who.py's answers, and a reload under load.
import { chmod, cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { TomlDocument } from './config-file.ts';
import { reloadUnderLoad } from './direct-reload.ts';
import { REPO_ROOT } from './paths.ts';
import { defaultPool, type Stack, type StackPaths } from './stack.ts';

const FIXTURES = `${REPO_ROOT}/test/integration/fixtures`;

/** The python fixtures (who.py, body.py, fds.py; hello.py, the counters, forever.py) in the stack's root. */
export async function pythonDirectPool(paths: StackPaths, extra: TomlDocument = {}): Promise<TomlDocument> {
  for (const dir of ['python', 'python-direct']) await cp(join(FIXTURES, dir), paths.root, { recursive: true });
  for (const name of ['who.py', 'body.py', 'fds.py', 'hello.py', 'globals_counter.py', 'counter.py', 'forever.py']) {
    await chmod(join(paths.root, name), 0o755);
  }
  return directPool(paths, extra);
}

/** The `main` pool: python, `*.py`, two workers accepting themselves, 3 s timeout, ping. */
export function directPool(paths: StackPaths, extra: TomlDocument = {}): TomlDocument {
  return {
    ...defaultPool(paths.root, paths.fastcgiSocket),
    runtime: 'python', match: ['*.py'], pm: { max_children: 2 }, dispatch: 'direct',
    request_terminate_timeout: '3s', 'ping.path': '/ping',
    ...extra,
  };
}

/** `name=value` lines of a text body. */
export function fields(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The worker pid who.py printed. */
export function workerOf(text: string): number {
  const pid = Number(fields(text).worker);
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`not a who.py answer: ${JSON.stringify(text)}`);
  return pid;
}

/** Reloads to a changed pool (new workers) under a bounded load of who.py: no request may fail. */
export async function reloadPythonDirect(s: Stack): Promise<void> {
  await reloadUnderLoad(s, {
    pool: 'main', path: (c, i) => `/who.py?${c}-${i}`, ok: (response) => /^worker=\d+$/m.test(response.text),
    pools: { main: directPool(s, { request_terminate_timeout: '4s' }) },
  });
}
