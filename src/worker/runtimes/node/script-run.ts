// This file implements one request of the node runtime from the perspective of the script it
// runs, which must behave as in its own CGI process: it ends when it calls `process.exit`, when
// everything it started has finished, when it throws, or when the request is aborted — and
// whatever it swapped, added or left running is put right before the next request.
import { Console } from 'node:console';
import { createRequire } from 'node:module';
import { basename, dirname as parentOf, join } from 'node:path';
import { inspect } from 'node:util';
import { errorPage } from '../../../cgi/error-page.ts';
import type { RuntimeRequest, RuntimeResult } from '../types.ts';
import type { AsyncTracker } from './async-tracker.ts';
import { cgiEnvironment, emulateProcess, exitCodeOf, ScriptExit, type RestoreProcess } from './process-emulation.ts';
import { settled, streamFlushed } from './run-waits.ts';
import type { CompiledScript } from './script-cache.ts';
import { ScriptStderr, ScriptStdin, ScriptStdout, type ScriptContext } from './script-stdio.ts';
import { noteLoadedModules, ProcessListeners, type GlobalsBaseline } from './state-policy.ts';

/** What a run shares with the runtime that started it. */
export interface RunDeps {
  /** Records the script's async resources. */
  readonly tracker: AsyncTracker;
  /** `state.modules = "reset"`: drop the modules first required during the run. */
  readonly resetModules: boolean;
  /** `state.globals = "reset"`: the global object to come back to after the run. */
  readonly globals: GlobalsBaseline | undefined;
}

/** Why a run ended; `exitCode` is null when the run was aborted or is read at the end. */
interface Ending {
  readonly reason: 'idle' | 'exit' | 'error' | 'abort';
  readonly exitCode: number | null;
}

/** Longest wait, after an exit, a failure or an abort, for killed children and closed sockets. */
const SETTLE_MS = 100;

/** One run of a compiled script for one request. Use once: `await new ScriptRun(…).execute()`. */
export class ScriptRun {
  readonly #req: RuntimeRequest;
  readonly #script: CompiledScript;
  readonly #deps: RunDeps;
  readonly #context: ScriptContext;
  readonly #stdout: ScriptStdout;
  readonly #stderr: ScriptStderr;
  readonly #listeners = new ProcessListeners();
  readonly #ended: Promise<Ending>;
  #resolveEnded: (ending: Ending) => void = () => undefined;
  #ending: Ending | undefined;
  #stdin: ScriptStdin | undefined;
  #console: Console | undefined;
  #checkScheduled = false;
  #exiting = false;

  constructor(req: RuntimeRequest, script: CompiledScript, deps: RunDeps) {
    this.#req = req;
    this.#script = script;
    this.#deps = deps;
    this.#context = { enter: (fn) => { this.#enter(fn); }, changed: this.#scheduleCheck };
    this.#stdout = new ScriptStdout(req.stdout, this.#context);
    this.#stderr = new ScriptStderr(req.onStderrLine);
    this.#ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  /**
   * Runs the script to its end and puts the worker back as it was.
   * @returns the exit status (`process.exit`, `process.exitCode`, 1 after an uncaught
   *   exception, null when aborted); `signal` is always null.
   * @throws Error from `process.chdir` when the script's directory is gone (nothing ran).
   */
  async execute(): Promise<RuntimeResult> {
    const restoreProcess = this.#emulate();
    const forgetModules = this.#deps.resetModules ? noteLoadedModules() : undefined;
    process.prependListener('uncaughtException', this.#onUncaught);
    process.prependListener('unhandledRejection', this.#onUncaught);
    this.#req.signal.addEventListener('abort', this.#onAbort, { once: true });
    this.#deps.tracker.watch(this.#scheduleCheck);
    // Timers a previous run's leftovers started since then belong to no process any more.
    this.#deps.tracker.sweep(false);
    this.#enter(() => {
      this.#invoke();
    });
    if (this.#req.signal.aborted) this.#onAbort();
    this.#scheduleCheck();
    const ending = await this.#ended;
    const exitCode = await this.#wind(ending);
    this.#listeners.restore();
    this.#req.signal.removeEventListener('abort', this.#onAbort);
    restoreProcess();
    this.#stdin?.detach();
    this.#stderr.flush();
    forgetModules?.();
    this.#deps.globals?.restore();
    await streamFlushed(this.#stdout, this.#req.signal);
    return { exitCode, signal: null };
  }

  #emulate(): RestoreProcess {
    const { filename, dirname } = this.#script;
    return emulateProcess({
      env: cgiEnvironment(this.#req.env),
      argv: [process.execPath, filename],
      stdin: () => (this.#stdin ??= new ScriptStdin(this.#req.stdin, this.#context)),
      stdout: this.#stdout,
      stderr: this.#stderr,
      console: () => (this.#console ??= new Console({ stdout: this.#stdout, stderr: this.#stderr, colorMode: false })),
      exit: this.#exit,
      cwd: dirname,
    });
  }

  /** Calls the script body with a fresh `module` and a `require` resolving from its file. */
  #invoke(): void {
    const { filename, dirname, fn } = this.#script;
    const require = createRequire(filename);
    const paths = nodeModulesPaths(dirname);
    const module = { id: '.', path: dirname, filename, exports: {}, loaded: false, children: [], paths, require };
    Object.defineProperty(require, 'main', { value: module, writable: true, enumerable: true, configurable: true });
    fn.call(module.exports, module.exports, require, module, filename, dirname);
    module.loaded = true;
  }

  /** Winds the run down after its end; returns its exit status. */
  async #wind(ending: Ending): Promise<number | null> {
    const { tracker } = this.#deps;
    if (ending.reason === 'idle') {
      const exitCode = exitCodeOf(process.exitCode) ?? 0;
      this.#emitExit(exitCode);
      this.#seal(false);
      tracker.sweep(false);
      tracker.unwatch();
      return exitCode;
    }
    await settled(tracker, SETTLE_MS);
    tracker.sweep(true);
    tracker.unwatch();
    return ending.exitCode;
  }

  /** Runs `fn` as script code; what it throws fails the run rather than the worker. */
  #enter(fn: () => void): void {
    try {
      this.#deps.tracker.run(fn);
    } catch (err) {
      this.#onUncaught(err);
    }
  }

  readonly #scheduleCheck = (): void => {
    if (this.#checkScheduled || this.#ending !== undefined) return;
    this.#checkScheduled = true;
    this.#deps.tracker.outside(() => setImmediate(this.#check));
  };

  /** One turn of the loop after a change: done when nothing the script started is left. */
  readonly #check = (): void => {
    this.#checkScheduled = false;
    if (this.#ending !== undefined) return;
    if (this.#stdout.busy || this.#stdin?.busy === true || this.#deps.tracker.busy()) return;
    this.#end({ reason: 'idle', exitCode: null });
  };

  /** The emulated `process.exit`: 'exit' listeners run, the run ends, the script unwinds. */
  readonly #exit = (code?: number | string | null): never => {
    const exitCode = exitCodeOf(code ?? process.exitCode) ?? 0;
    if (this.#ending === undefined) {
      process.exitCode = exitCode;
      this.#emitExit(exitCode);
      this.#end({ reason: 'exit', exitCode });
    }
    throw new ScriptExit(exitCode);
  };

  /** Uncaught exceptions and unhandled rejections while the script runs. */
  readonly #onUncaught = (err: unknown): void => {
    if (err instanceof ScriptExit) return;
    const own = (event: string): boolean => this.#listeners.added(event).some((l) => l !== this.#onUncaught);
    // A script with its own handler keeps running, as it would in its own process.
    if (this.#ending === undefined && (own('uncaughtException') || own('unhandledRejection'))) return;
    this.#logError(err);
    if (this.#ending !== undefined) return;
    if (!this.#stdout.anyOutput) this.#req.stdout.write(errorPage(500));
    this.#end({ reason: 'error', exitCode: 1 });
  };

  readonly #onAbort = (): void => {
    this.#end({ reason: 'abort', exitCode: null });
  };

  #end(ending: Ending): void {
    if (this.#ending !== undefined) return;
    this.#ending = ending;
    if (ending.reason !== 'idle') {
      // Nothing the script does from here on is output; what it left running is stopped.
      this.#seal(ending.reason === 'abort');
      this.#deps.tracker.sweep(true);
    }
    this.#resolveEnded(ending);
  }

  #seal(discard: boolean): void {
    if (discard) this.#stdout.destroy();
    else if (!this.#stdout.writableEnded) this.#stdout.end();
  }

  /** Calls the 'exit' listeners the script added, as script code, as Node does before exiting. */
  #emitExit(exitCode: number): void {
    if (this.#exiting) return;
    this.#exiting = true;
    for (const listener of this.#listeners.added('exit')) {
      this.#enter(() => {
        listener.call(process, exitCode);
      });
    }
  }

  #logError(err: unknown): void {
    const text = err instanceof Error ? inspect(err) : `Uncaught ${inspect(err)}`;
    for (const line of text.split('\n')) this.#req.onStderrLine(line);
  }
}

/** `module.paths` of a script in `dir`: `node_modules` in it and in each parent, nearest first. */
function nodeModulesPaths(dir: string): string[] {
  const paths: string[] = [];
  for (let current = dir; ; current = parentOf(current)) {
    if (basename(current) !== 'node_modules') paths.push(join(current, 'node_modules'));
    if (parentOf(current) === current) return paths;
  }
}
