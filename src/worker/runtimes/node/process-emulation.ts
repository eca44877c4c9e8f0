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
  /**
   * `process.mainModule`, which Node copies into `require.main` of every module loaded while
   * it is set: helpers finding the application through `require.main.filename` see the script.
   */
  readonly mainModule: object;
}

/** Puts the worker's own process back; idempotent. */
export type RestoreProcess = () => void;

/** One swapped property: where, which, and what the script sees. */
type Swap = readonly [target: object, key: string, descriptor: PropertyDescriptor];

function data(value: unknown, enumerable = true): PropertyDescriptor {
  return { value, writable: true, enumerable, configurable: true };
}

function accessor(get: () => unknown): PropertyDescriptor {
  return { get, enumerable: true, configurable: true };
}

/** The properties swapped for a run, shaped like the originals (stdio and console lazy getters). */
function swapsFor(emulated: EmulatedProcess): readonly Swap[] {
  return [
    [process, 'env', data(emulated.env)],
    [process, 'argv', data([...emulated.argv])],
    [process, 'stdin', accessor(emulated.stdin)],
    [process, 'stdout', accessor(() => emulated.stdout)],
    [process, 'stderr', accessor(() => emulated.stderr)],
    [process, 'exit', data(emulated.exit)],
    [process, 'mainModule', data(emulated.mainModule, false)],
    [
      globalThis,
      'console',
      {
        get: emulated.console,
        // `console = other` in a script replaces it for the rest of the run, as usual.
        set: (replacement: unknown) => {
          Object.defineProperty(globalThis, 'console', data(replacement, false));
        },
        enumerable: false,
        configurable: true,
      },
    ],
  ];
}

/**
 * Installs `emulated` and changes directory to `emulated.cwd`. `process.exitCode` (which
 * cannot be redefined: it is not configurable) is cleared for the run and put back after.
 * @throws Error from `process.chdir` when the directory is gone; nothing is swapped then.
 */
export function emulateProcess(emulated: EmulatedProcess): RestoreProcess {
  const cwd = process.cwd();
  process.chdir(emulated.cwd);
  const swaps = swapsFor(emulated);
  const saved = swaps.map(([target, key]) => Reflect.getOwnPropertyDescriptor(target, key));
  const savedExitCode = process.exitCode;
  process.exitCode = undefined;
  for (const [target, key, descriptor] of swaps) Object.defineProperty(target, key, descriptor);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    swaps.forEach(([target, key], i) => {
      const original = saved[i];
      if (original === undefined) Reflect.deleteProperty(target, key);
      else Object.defineProperty(target, key, original);
    });
    process.exitCode = savedExitCode;
    process.chdir(cwd);
  };
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
      set: (target, key, assigned) =>
        Reflect.set(target, key, typeof key === 'string' ? String(assigned) : assigned),
    },
  );
}
