// This file implements the CGI fixture tree from the perspective of a suite that needs a pool
// root it may scribble in: a private copy of fixtures/cgi-bin (modes kept) beside a copy of
// fixtures/outside, plus the "did anything run" marker files the refusal tests look for.
import { cp, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES_CGI_BIN, FIXTURES_OUTSIDE } from './paths.ts';

/** The copied fixture tree. */
export interface FixtureTree {
  /** The pool root: a copy of fixtures/cgi-bin. */
  readonly root: string;
  /** A sibling of the root holding scripts that must never run (`root/../outside`). */
  readonly outside: string;
}

/** Suffix of the marker file a fixture script creates next to its real path when it runs. */
export const MARKER_SUFFIX = '.ran';

/**
 * Copies the fixtures into `dir/cgi-bin` and `dir/outside` (file modes preserved, so
 * `notexec.py` stays non-executable) and creates, at run time, the symlinks that point out of
 * the root: `escape.py -> ../outside/evil.py` and `passwd.py -> /etc/passwd`.
 */
export async function copyFixtures(dir: string): Promise<FixtureTree> {
  const root = join(dir, 'cgi-bin');
  const outside = join(dir, 'outside');
  await cp(FIXTURES_CGI_BIN, root, { recursive: true });
  await cp(FIXTURES_OUTSIDE, outside, { recursive: true });
  await symlink(join(outside, 'evil.py'), join(root, 'escape.py'));
  await symlink('/etc/passwd', join(root, 'passwd.py'));
  return { root, outside };
}

/** Every marker file (`*.ran`) under `dir`, as absolute paths, sorted. */
export async function findMarkers(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(MARKER_SUFFIX))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Deletes every marker file under `dir`. */
export async function clearMarkers(dir: string): Promise<void> {
  await Promise.all((await findMarkers(dir)).map((file) => rm(file, { force: true })));
}
