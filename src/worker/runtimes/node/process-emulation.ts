// This file implements the per-request process a CGI script sees from the perspective of the
// node runtime that runs many scripts in one worker: `process.env`, `process.stdin/stdout/
// stderr`, `console`, `process.argv`, `process.exit`, `process.exitCode` and the working
// directory answer with the current run's values: accessors installed once per worker point at
// the run in progress (one request at a time, so one pointer suffices), and at the worker's own
// values between runs.
import { Console } from 'node:console';
import { Readable, Writable } from 'node:stream';

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
  /** `process.stderr`, created on first access. */
  readonly stderr: () => Writable;
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

/** The members of `process` a run replaces, and `globalThis.console`. */
type ProcessKey = 'env' | 'argv' | 'stdin' | 'stdout' | 'stderr' | 'exit' | 'mainModule';
type EmulatedKey = ProcessKey | 'console';

/** What the script sees for each member during a run; read on access (stdin and console lazily). */
type RunValues = Record<EmulatedKey, () => unknown>;

/** One run: its values, and what the script assigned over them (`process.env = {…}`). */
interface ActiveRun {
  readonly values: RunValues;
  readonly assigned: Map<EmulatedKey, unknown>;
}

/** An emulated member as installed: where it lives and how the worker's own value is read. */
interface Member {
  readonly target: object;
  readonly key: EmulatedKey;
  /** The worker's own property, put back by {@link ProcessEmulation.uninstall}. */
  readonly original: PropertyDescriptor | undefined;
  /** The accessor installed in its place. */
  readonly installed: PropertyDescriptor;
}

/** Members whose original has no setter: assigning them does nothing, as on a real `process`. */
const READ_ONLY: ReadonlySet<EmulatedKey> = new Set(['stdin', 'stdout', 'stderr']);

/**
 * The per-request process of the node runtime, installed once per worker: `process.env`,
 * `argv`, `stdin`, `stdout`, `stderr`, `exit`, `mainModule` and `globalThis.console` become
 * accessors that answer with the current run's values, and with the worker's own between runs.
 * Entering a run swaps one reference instead of redefining eight properties twice per request
 * (which also keeps V8's code for `process` stable). A script that assigns one of them
 * (`process.env = {…}`, `console = other`) changes it for the rest of its run only; one that
 * redefines or deletes one has it put back when its run ends.
 */
export class ProcessEmulation {
  #members: Member[] = [];
  #run: ActiveRun | undefined;
  readonly #isScript: () => boolean;
  /** The worker's own working directory, put back by {@link ProcessEmulation.uninstall}. */
  #workerCwd: string | undefined;
  /** The directory last entered for a run, as requested and as `process.cwd()` then read it. */
  #entered: { readonly path: string; readonly real: string } | undefined;

  /**
   * @param isScript - true when the caller is script code: a callback of a script whose run is
   *   over (its process is gone) then sees a process of its own with nothing in it — an empty
   *   environment, output that goes nowhere — never the worker's own streams or environment.
   */
  constructor(isScript: () => boolean = () => false) {
    this.#isScript = isScript;
  }

  /** Installs the accessors (idempotent). Call before capturing a `GlobalsBaseline`. */
  install(): void {
    if (this.#members.length > 0) return;
    this.#workerCwd = process.cwd();
    const keys: ProcessKey[] = ['env', 'argv', 'stdin', 'stdout', 'stderr', 'exit', 'mainModule'];
    this.#members = [
      ...keys.map((key) => this.#member(process, key)),
      this.#member(globalThis, 'console'),
    ];
    for (const member of this.#members) Object.defineProperty(member.target, member.key, member.installed);
  }

  /** Puts the worker's own properties back (the runtime closes). */
  uninstall(): void {
    for (const { target, key, original } of this.#members) {
      if (original === undefined) Reflect.deleteProperty(target, key);
      else Object.defineProperty(target, key, original);
    }
    this.#members = [];
    this.#run = undefined;
    if (this.#workerCwd !== undefined && this.#entered !== undefined) process.chdir(this.#workerCwd);
    this.#entered = undefined;
  }

  /**
   * Starts a run: the script sees `emulated`, in its directory. `process.exitCode` (which
   * cannot be redefined: it is not configurable) is cleared for the run and put back after.
   * Between runs the worker stays in the last run's directory, so that consecutive requests
   * for scripts in one directory cost no `chdir(2)`; a directory the script changed is put
   * back when its run ends.
   * @returns the function that ends the run's process (idempotent)
   * @throws Error from `process.chdir` when the directory is gone; nothing is changed then.
   */
  enter(emulated: EmulatedProcess): RestoreProcess {
    this.install();
    this.#enterDirectory(emulated.cwd);
    const argv = [...emulated.argv];
    const run: ActiveRun = {
      values: {
        env: () => emulated.env,
        argv: () => argv,
        stdin: emulated.stdin,
        stdout: () => emulated.stdout,
        stderr: emulated.stderr,
        exit: () => emulated.exit,
        mainModule: () => emulated.mainModule,
        console: emulated.console,
      },
      assigned: new Map(),
    };
    const savedExitCode = process.exitCode;
    process.exitCode = undefined;
    this.#run = run;
    let restored = false;
    return () => {
      if (restored) return;
      restored = true;
      if (this.#run === run) this.#run = undefined;
      this.#reinstall();
      process.exitCode = savedExitCode;
      this.#restoreDirectory(emulated.cwd);
    };
  }

  /**
   * Makes `path` the working directory, unless it already is: `process.cwd()` answers from
   * Node's cache until something calls `process.chdir`, so the check costs no system call.
   */
  #enterDirectory(path: string): void {
    if (this.#entered?.path === path && process.cwd() === this.#entered.real) return;
    process.chdir(path);
    this.#entered = { path, real: process.cwd() };
  }

  /** Back to the run's directory after the script changed it, or to the worker's if it is gone. */
  #restoreDirectory(path: string): void {
    try {
      this.#enterDirectory(path);
    } catch {
      this.#entered = undefined;
      if (this.#workerCwd !== undefined) process.chdir(this.#workerCwd);
    }
  }

  /** The accessor for one member, and the worker's own value behind it. */
  #member(target: object, key: EmulatedKey): Member {
    const original = Reflect.getOwnPropertyDescriptor(target, key);
    let own: unknown = original?.value;
    const ownValue = (): unknown => (original?.get === undefined ? own : original.get.call(target));
    const installed: PropertyDescriptor = {
      get: () => {
        const run = this.#run;
        if (run === undefined) return this.#isScript() ? goneValue(key) : ownValue();
        return run.assigned.has(key) ? run.assigned.get(key) : run.values[key]();
      },
      set: (value: unknown) => {
        const run = this.#run;
        if (run === undefined && this.#isScript()) return;
        if (run !== undefined) {
          if (!READ_ONLY.has(key)) run.assigned.set(key, value);
        } else if (original?.set !== undefined) {
          original.set.call(target, value);
        } else if (original?.get === undefined) {
          own = value;
        }
      },
      enumerable: original?.enumerable ?? key !== 'mainModule',
      configurable: true,
    };
    return { target, key, original, installed };
  }

  /** Puts back any accessor a script redefined or deleted. */
  #reinstall(): void {
    for (const { target, key, installed } of this.#members) {
      if (Reflect.getOwnPropertyDescriptor(target, key)?.get !== installed.get) {
        Object.defineProperty(target, key, installed);
      }
    }
  }
}

/** Output of a script whose process is gone: accepted, dropped. */
const nowhere = new Writable({
  write: (_chunk, _encoding, callback) => {
    callback();
  },
});
let goneConsole: Console | undefined;

/** What a script whose run is over sees of `key`: a process with nothing in it. */
function goneValue(key: EmulatedKey): unknown {
  switch (key) {
    case 'env':
      return {};
    case 'argv':
      return [];
    case 'stdin':
      return Readable.from([]);
    case 'stdout':
    case 'stderr':
      return nowhere;
    case 'console':
      return (goneConsole ??= new Console({ stdout: nowhere, stderr: nowhere }));
    case 'exit':
      return (code?: number) => {
        throw new ScriptExit(code ?? 0);
      };
    case 'mainModule':
      return undefined;
  }
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
