// This file implements one request of the node runtime from the perspective of the script it
// runs, which must behave as in its own CGI process: it ends when it calls `process.exit`, when
// everything it started has finished, when it throws, or when the request is aborted — and
// whatever it swapped, added or left running is put right before the next request.
import { inspect } from 'node:util';
import { errorPage } from '../../../cgi/error-page.ts';
import { onRunAbort, runAborted, type RuntimeRequest, type RuntimeResult } from '../types.ts';
import {
  cgiEnvironment,
  exitCodeOf,
  ScriptExit,
  type ProcessEmulation,
  type RestoreProcess,
} from './process-emulation.ts';
import { LoopWatch } from './loop-watch.ts';
import { RunStdio } from './run-stdio.ts';
import { settled } from './run-waits.ts';
import type { ScriptActivity } from './script-activity.ts';
import type { CompiledScript } from './script-cache.ts';
import { invokeScript, scriptModule, type ScriptModule } from './script-module.ts';
import type { ScriptContext } from './script-stdio.ts';
import { noteLoadedModules, ProcessListeners } from './state-policy.ts';

/** What a run shares with the runtime that started it. */
export interface RunDeps {
  /** What the script keeps alive. */
  readonly activity: ScriptActivity;
  /** The worker's `process` members that answer with the run's values. */
  readonly emulation: ProcessEmulation;
  /** `state.modules = "reset"`: drop the modules first required during the run. */
  readonly resetModules: boolean;
  /**
   * Puts the worker's interpreter-wide state back after the run (state-reset.ts); returns
   * what could not be put back.
   */
  readonly reset: () => readonly string[];
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
  readonly #stdio: RunStdio;
  readonly #listeners = new ProcessListeners();
  readonly #ended: Promise<Ending>;
  #resolveEnded: (ending: Ending) => void = () => undefined;
  #ending: Ending | undefined;
  readonly #watch = new LoopWatch(() => this.#check());
  #exiting = false;
  #leftovers: readonly string[] = [];
  #resetProblems: readonly string[] = [];

  constructor(req: RuntimeRequest, script: CompiledScript, deps: RunDeps) {
    this.#req = req;
    this.#script = script;
    this.#deps = deps;
    const context: ScriptContext = {
      enter: (fn) => {
        this.#enter(fn);
      },
      changed: this.#changed,
    };
    this.#stdio = new RunStdio(req, context);
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
    const module = scriptModule(this.#script);
    const restoreProcess = this.#emulate(module);
    const forgetModules = this.#deps.resetModules ? noteLoadedModules() : undefined;
    // Aborted before it starts: the script still runs, then is stopped (below), as before.
    const stopListening = runAborted(this.#req) ? noListener : onRunAbort(this.#req, this.#onAbort);
    const { activity } = this.#deps;
    activity.begin();
    activity.watch(this.#changed);
    this.#enter(() => {
      invokeScript(this.#script, module);
    });
    if (runAborted(this.#req)) this.#onAbort();
    this.#changed();
    const ending = await this.#ended;
    this.#watch.stop();
    const exitCode = await this.#wind(ending);
    // Built-ins first: the steps after it then run on the worker's own, whatever the script
    // patched (they also use references captured before any script ran).
    this.#resetProblems = this.#deps.reset();
    this.#listeners.restore();
    stopListening();
    restoreProcess();
    this.#stdio.release();
    forgetModules?.();
    await this.#stdio.flushed(this.#req);
    return { exitCode, signal: null };
  }

  #emulate(module: ScriptModule): RestoreProcess {
    const { filename } = this.#script;
    return this.#deps.emulation.enter({
      env: cgiEnvironment(this.#req.env),
      argv: [process.execPath, filename],
      stdin: this.#stdio.stdin,
      stdout: this.#stdio.stdout,
      stderr: this.#stdio.stderr,
      console: this.#stdio.console,
      exit: this.#exit,
      cwd: this.#req.cwd,
      mainModule: module,
    });
  }

  /** Winds the run down after its end; returns its exit status. */
  async #wind(ending: Ending): Promise<number | null> {
    const { activity } = this.#deps;
    if (ending.reason === 'idle') {
      const exitCode = exitCodeOf(process.exitCode) ?? 0;
      this.#emitExit(exitCode);
      this.#stdio.seal(false, false);
      activity.sweep(false);
      activity.end();
      return exitCode;
    }
    await settled(activity, SETTLE_MS);
    // Timers its leftover callbacks started meanwhile never run either.
    activity.sweep(false);
    this.#leftovers = activity.leftovers();
    activity.end();
    return ending.exitCode;
  }

  /**
   * What the script left running after it exited, failed or was aborted, and that did not end
   * within {@link SETTLE_MS} (a listening server, an open socket, a timer of `timers/promises`):
   * the runtime cannot stop those on Node's public API, so the worker is replaced.
   */
  get leftovers(): readonly string[] {
    return this.#leftovers;
  }

  /** What the script changed that the worker could not put back (see `RunDeps.reset`). */
  get resetProblems(): readonly string[] {
    return this.#resetProblems;
  }

  /** Runs `fn` as script code; what it throws fails the run rather than the worker. */
  #enter(fn: () => void): void {
    try {
      this.#deps.activity.run(fn);
    } catch (err) {
      this.#onUncaught(err);
    }
  }

  /** Something the end-of-script check looks at changed: look in this turn's check phase. */
  readonly #changed = (): void => {
    if (this.#ending === undefined) this.#watch.poke();
  };

  /** Done when nothing the script started is left; returns true once the run has ended. */
  #check(): boolean {
    if (this.#ending !== undefined) return true;
    if (this.#stdio.busy || this.#deps.activity.busy()) return false;
    this.#end({ reason: 'idle', exitCode: null });
    return true;
  }

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

  /**
   * An uncaught exception or unhandled rejection while this run is the current one (the
   * runtime's dispatcher calls it; {@link ScriptExit} never reaches it).
   */
  uncaught(err: unknown, event: 'uncaughtException' | 'unhandledRejection'): void {
    // A script with its own handler keeps running, as it would in its own process.
    if (this.#ending === undefined && this.#listeners.added(event).length > 0) return;
    this.#onUncaught(err);
  }

  /** A failure of the script: logged; ends the run (500 when nothing was written yet). */
  readonly #onUncaught = (err: unknown): void => {
    if (err instanceof ScriptExit) return;
    this.#logError(err);
    if (this.#ending !== undefined) return;
    if (!this.#stdio.anyOutput) this.#req.stdout.write(errorPage(500));
    this.#end({ reason: 'error', exitCode: 1 });
  };

  readonly #onAbort = (): void => {
    this.#end({ reason: 'abort', exitCode: null });
  };

  #end(ending: Ending): void {
    if (this.#ending !== undefined) return;
    this.#ending = ending;
    if (ending.reason !== 'idle') {
      // Its process is gone: nothing it does from here on is output (a `catch` meeting the
      // exit, a leftover callback), and what it left running is stopped.
      this.#stdio.seal(ending.reason === 'abort', true);
      this.#deps.activity.sweep(true);
    }
    this.#resolveEnded(ending);
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

function noListener(): void {
  // No listener was added.
}
