// This file implements the `#!` line of a CGI script from the perspective of a python pool
// that must run each script with the interpreter the script names, as the kernel would under
// CGI: the line's interpreter path and its one optional argument (Linux passes the rest of
// the line as a single argument), with `/usr/bin/env NAME` (and `env -S`) resolved against
// the script's own PATH. Pure: parsing takes text, resolution takes the file-system checks.
import { basename, isAbsolute, join, resolve } from 'node:path';

/** A program and the arguments it gets before the runner's own. */
export interface Interpreter {
  /** The program: an absolute path from a `#!` line, or `python.executable` as configured. */
  readonly executable: string;
  /** Arguments from the `#!` line (`-u`), in order. */
  readonly args: readonly string[];
}

/** A `#!` line split as Linux's binfmt_script splits it. */
export interface Shebang {
  /** The interpreter path as written. */
  readonly path: string;
  /** The rest of the line, trimmed, as one argument; absent when there is none. */
  readonly arg: string | undefined;
}

/** Bytes of a script's head the kernel reads for its `#!` line (BINPRM_BUF_SIZE). */
export const SHEBANG_MAX_BYTES = 256;

/**
 * The search path `execvp(3)` uses when PATH is unset (glibc's `_CS_PATH`), hence what
 * `#!/usr/bin/env python3` searches for a script whose environment has no PATH.
 */
export const DEFAULT_SEARCH_PATH = '/bin:/usr/bin';

/** Parses the first line of a script; `undefined` when it has no `#!` line. */
export function parseShebang(head: Buffer | string): Shebang | undefined {
  const text = typeof head === 'string' ? head : head.toString('latin1');
  if (!text.startsWith('#!')) return undefined;
  const end = text.search(/[\r\n]/u);
  const line = (end < 0 ? text : text.slice(0, end)).slice(2).replace(/^[ \t]+/u, '');
  const match = /^(\S+)(?:[ \t]+(.*?))?[ \t]*$/u.exec(line);
  if (match?.[1] === undefined) return undefined;
  const arg = match[2];
  return { path: match[1], arg: arg === undefined || arg === '' ? undefined : arg };
}

/** True when a program's file name is a python interpreter's (`python3`, `python3.11`, `pypy3`). */
export function isPythonName(program: string): boolean {
  return /^(?:python|pypy)[0-9.]*(?:-dbg|d|m)?$/u.test(basename(program));
}

/** The file-system checks resolution needs. */
export interface SearchFs {
  /** True when `path` is a regular file this process may execute. */
  isExecutableFile(path: string): boolean;
}

/** What a `#!` line names, once resolved. */
export type Resolved =
  | { readonly kind: 'python'; readonly interpreter: Interpreter }
  /** No `#!` line, or one naming something other than python: `python.executable` runs it. */
  | { readonly kind: 'other' }
  /** `env` found no such program: under CGI the script would fail to start (ENOENT). */
  | { readonly kind: 'not found'; readonly program: string; readonly searched: string };

/**
 * Resolves a `#!` line as exec would for a script in `cwd` with environment `env`: an
 * absolute interpreter as is (its existence is the spawn's business), a relative one against
 * `cwd`, `env NAME` and `env -S NAME ARGS…` by searching the script's `PATH` (or
 * {@link DEFAULT_SEARCH_PATH}).
 */
export function resolveShebang(
  shebang: Shebang | undefined,
  cwd: string,
  env: Readonly<Record<string, string>>,
  fs: SearchFs,
): Resolved {
  if (shebang === undefined) return { kind: 'other' };
  const direct = isAbsolute(shebang.path) ? shebang.path : resolve(cwd, shebang.path);
  if (basename(direct) !== 'env') {
    if (!isPythonName(direct)) return { kind: 'other' };
    return {
      kind: 'python',
      interpreter: { executable: direct, args: shebang.arg === undefined ? [] : [shebang.arg] },
    };
  }
  const words = envWords(shebang.arg);
  const program = words[0];
  // Without -S the whole argument is one program name, blanks included (`env "python3 -u"`
  // finds nothing, as under CGI): it counts as python by its first word.
  if (program === undefined || !isPythonName(program.split(/[ \t]/u)[0] ?? '')) return { kind: 'other' };
  const searched = env.PATH ?? DEFAULT_SEARCH_PATH;
  const found = program.includes('/') ? resolve(cwd, program) : search(program, searched, cwd, fs);
  if (found === undefined) return { kind: 'not found', program, searched };
  return { kind: 'python', interpreter: { executable: found, args: words.slice(1) } };
}

/** `env`'s arguments: one word, or with `-S` the rest split on blanks (coreutils `env -S`). */
function envWords(arg: string | undefined): string[] {
  if (arg === undefined) return [];
  const split = /^-S[ \t]*(.*)$/u.exec(arg);
  if (split?.[1] !== undefined) return split[1].split(/[ \t]+/u).filter((word) => word !== '');
  return [arg];
}

/** `execvp(3)`'s search: each PATH element in order, an empty one meaning the cwd. */
function search(program: string, path: string, cwd: string, fs: SearchFs): string | undefined {
  for (const dir of path.split(':')) {
    const candidate = join(dir === '' ? cwd : resolve(cwd, dir), program);
    if (fs.isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
