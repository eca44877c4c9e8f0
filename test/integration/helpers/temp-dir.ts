// This file implements temporary directories from the perspective of an integration test that
// needs a private place for sockets, configs and fixture copies, removed when it is done.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A directory under `os.tmpdir()` that belongs to one test suite. */
export interface TempDir {
  /** Absolute path of the directory (short enough for unix socket paths under `/tmp`). */
  readonly path: string;
  /** Removes the directory and everything in it; safe to call more than once. */
  remove(): Promise<void>;
}

/**
 * Creates a fresh temporary directory with `mkdtemp`.
 *
 * The directory is made world-accessible (0755) so that nginx workers, whatever user they run
 * as, can traverse it to reach the sockets inside.
 *
 * @param prefix - a short name that shows which suite owns the directory
 * @defaultValue prefix `"cgi-fpm-it-"`
 */
export async function createTempDir(prefix = 'cgi-fpm-it-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  await chmod(path, 0o755);
  return {
    path,
    remove: () => rm(path, { recursive: true, force: true, maxRetries: 3 }),
  };
}
