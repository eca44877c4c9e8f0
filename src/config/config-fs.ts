// This file implements what loading a config needs from its surroundings, from the perspective of
// every step that resolves a path (sources, includes, roots, identities): the file system calls,
// and where a pool is (for relative paths and messages). Types only; normalize.ts and identity.ts
// both use them without importing each other's values.

/** The file system calls loading needs; `node:fs/promises` fits. */
export interface ConfigFs {
  /** Reads a whole file as UTF-8. */
  readonly readFile: (path: string, encoding: 'utf8') => Promise<string>;
  /** Resolves symlinks; rejects (with an errno `code`) when the path does not exist. */
  readonly realpath: (path: string) => Promise<string>;
  /** Follows symlinks. */
  readonly stat: (path: string) => Promise<{ isDirectory: () => boolean }>;
  /**
   * Lists a directory's entries as paths relative to it (with `recursive`, every level below);
   * rejects with `ENOENT` when it does not exist. For `include` globs.
   */
  readonly readdir: (path: string, options: { recursive: boolean }) => Promise<string[]>;
}

/** Where the pool is: for relative paths and messages. */
export interface PoolContext {
  /** Absolute path of the config file. */
  readonly file: string;
  /** Its directory, against which relative paths are resolved. */
  readonly baseDir: string;
  /** The pool's name. */
  readonly name: string;
}
