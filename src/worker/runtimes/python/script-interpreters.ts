// This file implements the choice of interpreter for each request from the perspective of a
// python pool's worker: the script's `#!` line (read again only when the file changes) names
// it, resolved as exec would for the request's environment; a script without a python `#!`
// line runs with `python.executable`.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { CgiError, ErrorCode } from '../../../errors.ts';
import {
  SHEBANG_MAX_BYTES,
  parseShebang,
  resolveShebang,
  type Interpreter,
  type SearchFs,
  type Shebang,
} from './shebang.ts';

/** What was read of one script, and when. */
interface Entry {
  readonly key: string;
  readonly shebang: Shebang | undefined;
}

/** The real file system's checks: `stat(2)` and `access(2)` by way of the mode bits. */
export const nodeSearchFs: SearchFs = {
  isExecutableFile(path) {
    try {
      const stat = statSync(path);
      // Any x bit, as execvp's access(X_OK) test is for the worker's user (a pool user's
      // spawn then fails with EACCES, answered 403 like the exec runtime's).
      return stat.isFile() && (stat.mode & 0o111) !== 0;
    } catch {
      return false;
    }
  },
};

/**
 * The interpreter of each script, by its `#!` line. File reads are synchronous: a worker runs
 * one request at a time, and a `stat(2)` per request is what changes cost (the line is read
 * again only when the script's mtime, size or inode change).
 */
export class ScriptInterpreters {
  readonly #fallback: Interpreter;
  readonly #fs: SearchFs;
  readonly #entries = new Map<string, Entry>();

  constructor(fallback: Interpreter, fs: SearchFs = nodeSearchFs) {
    this.#fallback = fallback;
    this.#fs = fs;
  }

  /** The fallback interpreter (`python.executable`). */
  get fallback(): Interpreter {
    return this.#fallback;
  }

  /**
   * The interpreter `script` (run in `cwd` with `env`) names; its `#!` line read from `fd` when
   * given (the worker's checked descriptor of it: a path swapped since names nothing else).
   * @throws CgiError `ERR_CGI_SPAWN` (cause `ENOENT`) when `#!/usr/bin/env NAME` finds no
   *   NAME in the script's PATH: the script would not start under CGI either.
   */
  of(script: string, cwd: string, env: Readonly<Record<string, string>>, fd?: number): Interpreter {
    const resolved = resolveShebang(this.#shebang(script, fd), cwd, env, this.#fs);
    switch (resolved.kind) {
      case 'python':
        return resolved.interpreter;
      case 'other':
        return this.#fallback;
      case 'not found': {
        const cause = Object.assign(new Error(`${resolved.program}: not found`), { code: 'ENOENT' });
        throw new CgiError(
          ErrorCode.ERR_CGI_SPAWN,
          `cgi: spawn failed: ${script}: #! names "${resolved.program}", not found in PATH ${resolved.searched}`,
          { scriptFilename: script },
          { cause },
        );
      }
    }
  }

  #shebang(script: string, fd: number | undefined): Shebang | undefined {
    let key: string;
    try {
      const stat = fd === undefined ? statSync(script) : fstatSync(fd);
      key = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch {
      return undefined; // gone since it was resolved: the runner reports the missing file
    }
    const entry = this.#entries.get(script);
    if (entry?.key === key) return entry.shebang;
    const shebang = parseShebang(readHead(script, fd));
    this.#entries.set(script, { key, shebang });
    return shebang;
  }
}

/** The first bytes of a file, from `given` when open already (empty when it cannot be read). */
function readHead(path: string, given: number | undefined): Buffer {
  let fd: number | undefined;
  try {
    fd = given ?? openSync(path, 'r');
    const head = Buffer.alloc(SHEBANG_MAX_BYTES);
    // At position 0 (pread): the descriptor's own offset stays as it was.
    return head.subarray(0, readSync(fd, head, 0, SHEBANG_MAX_BYTES, 0));
  } catch {
    return Buffer.alloc(0);
  } finally {
    if (fd !== undefined && given === undefined) closeSync(fd);
  }
}

/** A stable key naming one interpreter (its program and arguments). */
export function interpreterKey(interpreter: Interpreter): string {
  return [interpreter.executable, ...interpreter.args].join('\0');
}
