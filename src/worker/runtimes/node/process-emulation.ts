// This file implements the per-request process a CGI script sees from the perspective of the
// node runtime that runs many scripts in one worker: `process.env`, `process.stdin/stdout/
// stderr`, `console`, `process.argv`, `process.exit`, `process.exitCode` and the working
// directory are swapped in with Object.defineProperty before the script runs and the originals
// put back after it (one request at a time, so swapping globals is safe).
import type { Console } from 'node:console';
import type { Readable, Writable } from 'node:stream';

/**
 * Thrown by the emulated `process.exit()` to unwind the script; never escapes the runtime. A
 * class of its own so that no script value can be mistaken for it.
 */
export class ScriptExit extends Error {
  /** The exit status the script asked for. */
  readonly exitCode: number;

  constructor(exitCode: number) {
    super(`process.exit(${exitCode})`);
    this.name = 'ScriptExit';
    this.exitCode = exitCode;
  }
}

/** What one request's script sees in place of the worker's own process. */
export interface EmulatedProcess {
  /** `process.env`: exactly the request's CGI environment (see {@link cgiEnvironment}). */
  readonly env: Record<string, string>;
  /** `process.argv`. */
  readonly argv: readonly string[];
  /** `process.stdin`, created on first access. */
  readonly stdin: () => Readable;
  /** `process.stdout`. */
  readonly stdout: Writable;
  /** `process.stderr`. */
  readonly stderr: Writable;
  /** `console`, created on first access. */
  readonly console: () => Console;
  /** `process.exit`: records the status and throws {@link ScriptExit}. */
  readonly exit: (code?: number | string | null) => never;
  /** The working directory during the run. */
  readonly cwd: string;
}

/** Puts the worker's own process back; idempotent. Returns the script's `process.exitCode`. */
export type RestoreProcess = () => number | undefined;

type Target = 'process' | 'global';
const SWAPPED: readonly (readonly [Target, string])[] = [
  ['process', 'env'],
  ['process', 'argv'],
  ['process', 'stdin'],
  ['process', 'stdout'],
  ['process', 'stderr'],
  ['process', 'exit'],
  ['global', 'console'],
];

function targetOf(target: Target): object {
  return target === 'process' ? process : globalThis;
}

/**
 * Installs `emulated` and changes directory to `emulated.cwd`. `process.exitCode` (which
 * cannot be redefined) is cleared for the run and read back by the returned function.
 * @throws Error from `process.chdir` when the directory is gone; nothing is swapped then.
 */
export function emulateProcess(emulated: EmulatedProcess): RestoreProcess {
  const cwd = process.cwd();
  process.chdir(emulated.cwd);
  const saved = SWAPPED.map(([target, key]) => Reflect.getOwnPropertyDescriptor(targetOf(target), key));
  const savedExitCode = process.exitCode;
  process.exitCode = undefined;
  const value = (v: unknown): PropertyDescriptor => ({ value: v, writable: true, enumerable: true, configurable: true });
  const getter = (get: () => unknown): PropertyDescriptor => ({ get, enumerable: true, configurable: true });
  define(process, 'env', value(emulated.env));
  define(process, 'argv', value([...emulated.argv]));
  define(process, 'stdin', getter(emulated.stdin));
  define(process, 'stdout', getter(() => emulated.stdout));
  define(process, 'stderr', getter(() => emulated.stderr));
  define(process, 'exit', value(emulated.exit));
  define(globalThis, 'console', {
    get: emulated.console,
    // `console = other` in a script replaces it for the rest of the run, as usual.
    set: (replacement: unknown) => {
      define(globalThis, 'console', { ...value(replacement), enumerable: false });
    },
    enumerable: false,
    configurable: true,
  });
  let restored = false;
  let scriptExitCode: number | undefined;
  return () => {
    if (restored) return scriptExitCode;
    restored = true;
    scriptExitCode = exitCodeOf(process.exitCode);
    SWAPPED.forEach(([target, key], i) => {
      const descriptor = saved[i];
      if (descriptor === undefined) Reflect.deleteProperty(targetOf(target), key);
      else define(targetOf(target), key, descriptor);
    });
    process.exitCode = savedExitCode;
    process.chdir(cwd);
    return scriptExitCode;
  };
}

function define(target: object, key: string, descriptor: PropertyDescriptor): void {
  Object.defineProperty(target, key, descriptor);
}

/** `process.exitCode` as a number (Node 20 accepts integer strings too). */
export function exitCodeOf(code: number | string | null | undefined): number | undefined {
  if (code === undefined || code === null || code === '') return undefined;
  const n = Number(code);
  return Number.isInteger(n) ? n : 1;
}

/**
 * A `process.env` for one request: the CGI variables as own properties of a plain object, and,
 * as with the real `process.env`, every value assigned is stored as a string.
 * @see RFC 3875 §4.1
 */
export function cgiEnvironment(variables: Readonly<Record<string, string>>): Record<string, string> {
  return new Proxy<Record<string, string>>(
    { ...variables },
    {
      set: (target, key, assigned) => Reflect.set(target, key, typeof key === 'string' ? String(assigned) : assigned),
    },
  );
}
