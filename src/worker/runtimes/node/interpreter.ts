// This file implements "is this script meant for the node that runs this worker?" from the
// perspective of the node runtime, which runs scripts in its own process: under CGI a script's
// `#!` line chooses its interpreter, so a script whose shebang names another node (another
// version, another install), node with options, or another interpreter altogether cannot be run
// here as its author meant; it is refused with a 500 and a log line naming the interpreter, and
// belongs in an `exec` pool. A script without a shebang is the pool's to run.
import { realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** A script's `#!` line: the interpreter's path and what follows it. */
export interface Shebang {
  /** The interpreter as written (`/usr/bin/env`, `/usr/bin/node`). */
  readonly command: string;
  /** The rest of the line, split on blanks (`["node"]`, `["-S", "node", "--inspect"]`). */
  readonly args: readonly string[];
  /** The whole line after `#!`, trimmed, for the log. */
  readonly line: string;
}

/** The search path `env` uses when the environment has none (glibc's default for execvp). */
export const DEFAULT_PATH = '/bin:/usr/bin';

/** `#!…` at the very start of `source` (after a UTF-8 BOM), or undefined. */
export function parseShebang(source: string): Shebang | undefined {
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  if (!text.startsWith('#!')) return undefined;
  const end = text.indexOf('\n');
  const line = text.slice(2, end < 0 ? undefined : end).replace(/\r$/, '').trim();
  const [command, ...args] = line.split(/[ \t]+/).filter((word) => word !== '');
  return command === undefined ? undefined : { command, args, line };
}

/** The interpreter a shebang runs, once `env` looked it up: its path and its options. */
interface Resolved {
  /** Absolute path, or undefined when `env` would not find it. */
  readonly path: string | undefined;
  /** The name or path as written. */
  readonly name: string;
  /** Arguments given to the interpreter before the script (node options). */
  readonly options: readonly string[];
}

function resolveCommand(shebang: Shebang, searchPath: string): Resolved {
  if (!shebang.command.endsWith('/env')) return { path: shebang.command, name: shebang.command, options: shebang.args };
  // `env NAME ARGS…`, or `env -S "NAME ARGS…"` (the kernel passes everything after the
  // interpreter as one argument; `-S` is how a line carries several).
  const words = shebang.args[0] === '-S' ? shebang.args.slice(1) : shebang.args;
  const [name, ...options] = words;
  if (name === undefined) return { path: undefined, name: shebang.line, options: [] };
  if (isAbsolute(name)) return { path: name, name, options };
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) return { path: candidate, name, options };
    } catch {
      // Not in this directory.
    }
  }
  return { path: undefined, name, options };
}

/** Device and inode of a file's target: the same binary, whichever link names it. */
function identity(path: string): string | undefined {
  try {
    const stat = statSync(realpathSync(path));
    return `${String(stat.dev)}:${String(stat.ino)}`;
  } catch {
    return undefined;
  }
}

/**
 * Checks scripts' shebangs against the node binary of this worker. Answers are cached per
 * shebang line and search path (a pool's scripts share a handful).
 */
export class InterpreterCheck {
  readonly #node: string;
  readonly #nodeIdentity: string | undefined;
  readonly #fallbackPath: string;
  readonly #answers = new Map<string, string | undefined>();

  /**
   * @param node - the worker's node binary @defaultValue `process.execPath`
   * @param fallbackPath - searched when a request's environment has no `PATH`
   *   @defaultValue the worker's own `PATH`, else {@link DEFAULT_PATH}
   */
  constructor(node: string = process.execPath, fallbackPath: string = process.env.PATH ?? DEFAULT_PATH) {
    this.#node = node;
    this.#nodeIdentity = identity(node);
    this.#fallbackPath = fallbackPath;
  }

  /** The worker's node binary, for the log. */
  get node(): string {
    return this.#node;
  }

  /**
   * Why a script with this shebang cannot run in this worker, or undefined when it can.
   * @param searchPath - the request's `PATH` (where `#!/usr/bin/env node` looks)
   */
  refusal(shebang: Shebang | undefined, searchPath: string | undefined): string | undefined {
    if (shebang === undefined) return undefined;
    const path = searchPath ?? this.#fallbackPath;
    const key = `${shebang.line}\0${path}`;
    if (this.#answers.has(key)) return this.#answers.get(key);
    const answer = this.#decide(shebang, path);
    if (this.#answers.size >= 256) this.#answers.clear();
    this.#answers.set(key, answer);
    return answer;
  }

  #decide(shebang: Shebang, searchPath: string): string | undefined {
    const resolved = resolveCommand(shebang, searchPath);
    if (resolved.path === undefined) return `interpreter "${resolved.name}" not found on PATH ${searchPath}`;
    const same = this.#nodeIdentity !== undefined && identity(resolved.path) === this.#nodeIdentity;
    if (!same) return `interpreter ${resolved.path} is not this worker's node (${this.#node})`;
    if (resolved.options.length > 0) {
      return `node options "${resolved.options.join(' ')}" cannot be applied in a running worker`;
    }
    return undefined;
  }
}
