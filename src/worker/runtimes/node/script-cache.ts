// This file implements compiled CGI scripts from the perspective of the node runtime: each
// script file is read and compiled once, as CommonJS in the worker's own context (so `require`
// and builtins behave as usual), and compiled again when its file changes — an edited script
// is used on its next request without a restart.
import { fstatSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import vm from 'node:vm';
import { CgiError, ErrorCode } from '../../../errors.ts';
import { parseShebang, type Shebang } from './interpreter.ts';

/** `import(` anywhere (comments and strings too: a false positive only costs a fuller check). */
const DYNAMIC_IMPORT = /\bimport\s*\(/;

/** The CommonJS module wrapper's parameters, in Node's order. */
const WRAPPER_PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname'] as const;

/** A script body compiled as the CommonJS wrapper function. */
export type ScriptFunction = (
  this: unknown,
  exports: unknown,
  require: NodeJS.Require,
  module: unknown,
  __filename: string,
  __dirname: string,
) => unknown;

/** One compiled script. */
export interface CompiledScript {
  /** Absolute path of the script. */
  readonly filename: string;
  /** Its directory (`__dirname`). */
  readonly dirname: string;
  /** The body; throws the script's SyntaxError when it did not compile. */
  readonly fn: ScriptFunction;
  /** Its `#!` line, if it has one. */
  readonly shebang: Shebang | undefined;
  /** Its source contains `import(`: it may load modules past `require` (see module-access.ts). */
  readonly importsDynamically: boolean;
}

/** What identifies one version of a file: a replaced or rewritten file differs in one of these. */
interface FileVersion {
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly size: number;
  readonly ino: number;
  readonly dev: number;
}

interface Entry extends FileVersion {
  readonly script: CompiledScript;
}

/** Largest number of compiled scripts kept; the least recently compiled goes first. */
export const DEFAULT_MAX_SCRIPTS = 1024;

/** Settings of a {@link ScriptCache}. */
export interface ScriptCacheOptions {
  /** Compiled scripts kept at most. @defaultValue {@link DEFAULT_MAX_SCRIPTS} */
  readonly maxScripts?: number;
  /** Told of each (re)compilation, for the log. */
  readonly onCompile?: (filename: string) => void;
}

/**
 * The compiled scripts of one worker. A script that does not compile is cached too, as a
 * function throwing its SyntaxError (with the file, line and caret), so it fails like a script
 * throwing at its first line until the file is fixed.
 */
export class ScriptCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxScripts: number;
  readonly #onCompile: (filename: string) => void;

  constructor(options: ScriptCacheOptions = {}) {
    this.#maxScripts = options.maxScripts ?? DEFAULT_MAX_SCRIPTS;
    this.#onCompile = options.onCompile ?? (() => undefined);
  }

  /**
   * The compiled script for `filename`: one `stat` per call (none when the worker's check of
   * `fd` gave `fdStats`), a read and a compile only when the file's mtime, ctime, size or inode
   * changed since the last one. Synchronous on purpose: the
   * worker serves one request at a time and has nothing else to do meanwhile, and a `stat` of
   * a local file takes microseconds where a thread-pool round trip takes a hundred.
   * @throws CgiError `ERR_CGI_SPAWN` when the file cannot be read (gone, not a file, no access).
   */
  load(filename: string, fd?: number, fdStats?: Stats): CompiledScript {
    try {
      // `fd`: the worker opened the file and checked it is `filename` (script-file.ts): its
      // version and source come from that descriptor, never from the path again (swap races).
      // `fdStats`: what the worker's check found `fd` to be this request (no second `fstat`).
      const version = fd === undefined ? statSync(filename) : (fdStats ?? fstatSync(fd));
      const cached = this.#entries.get(filename);
      if (cached !== undefined && sameVersion(cached, version)) return cached.script;
      const source = fd === undefined ? readFileSync(filename, 'utf8') : readFromStart(fd, version.size);
      const script = {
        filename,
        dirname: dirname(filename),
        fn: compile(filename, source),
        shebang: parseShebang(source),
        importsDynamically: DYNAMIC_IMPORT.test(source),
      };
      this.#onCompile(filename);
      this.#remember(filename, {
        mtimeMs: version.mtimeMs,
        ctimeMs: version.ctimeMs,
        size: version.size,
        ino: version.ino,
        dev: version.dev,
        script,
      });
      return script;
    } catch (err) {
      this.#entries.delete(filename);
      const detail = err instanceof Error ? err.message : String(err);
      throw new CgiError(
        ErrorCode.ERR_CGI_SPAWN,
        `cgi: node: cannot load script: ${detail}`,
        { scriptFilename: filename },
        { cause: err },
      );
    }
  }

  /** Compiled scripts currently kept. */
  get size(): number {
    return this.#entries.size;
  }

  #remember(filename: string, entry: Entry): void {
    this.#entries.delete(filename);
    this.#entries.set(filename, entry);
    if (this.#entries.size <= this.#maxScripts) return;
    const oldest = this.#entries.keys().next();
    if (oldest.done !== true) this.#entries.delete(oldest.value);
  }
}

/**
 * The whole file behind `fd`, read from offset 0 (`pread`): the worker keeps a checked
 * descriptor across requests (script-descriptors.ts), so its own offset may be anywhere.
 */
function readFromStart(fd: number, sizeHint: number): string {
  let buffer = Buffer.allocUnsafe(Math.max(sizeHint, 4096));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const n = readSync(fd, buffer, length, buffer.length - length, length);
    if (n === 0) return buffer.toString('utf8', 0, length);
    length += n;
  }
}

function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.size === b.size && a.ino === b.ino && a.dev === b.dev;
}

/**
 * Compiles `source` as the body of the CommonJS wrapper in the main context; a `#!` line is
 * valid (hashbang grammar) and a UTF-8 BOM is dropped, as Node's loader does. `import()` in a
 * script uses the main context's ESM loader.
 */
function compile(filename: string, source: string): ScriptFunction {
  const body = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  try {
    return vm.compileFunction(body, [...WRAPPER_PARAMETERS], {
      filename,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }) as ScriptFunction;
  } catch (err) {
    return () => {
      throw err;
    };
  }
}
