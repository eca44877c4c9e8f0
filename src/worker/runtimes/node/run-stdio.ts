// This file implements the standard streams of one script run from the perspective of the run
// that owns them: created with the run (stdin and console on first use), asked whether output
// or input still keeps the script alive, sealed when the script's process is over, and flushed
// into the request before the run resolves.
import { Console } from 'node:console';
import type { RuntimeRequest } from '../types.ts';
import { streamFlushed } from './run-waits.ts';
import { ScriptStderr, ScriptStdin, ScriptStdout, type ScriptContext } from './script-stdio.ts';

/** `process.stdin`, `process.stdout`, `process.stderr` and `console` of one run. */
export class RunStdio {
  /** `process.stdout`: into the request's CGI output. */
  readonly stdout: ScriptStdout;
  readonly #req: RuntimeRequest;
  readonly #context: ScriptContext;
  #stdin: ScriptStdin | undefined;
  #stderr: ScriptStderr | undefined;
  /** Sealed with `closeStderr`: a stderr created from now on is closed at once. */
  #stderrClosed = false;
  #console: Console | undefined;

  constructor(req: RuntimeRequest, context: ScriptContext) {
    this.#req = req;
    this.#context = context;
    this.stdout = new ScriptStdout(req.stdout, context);
  }

  /** `process.stderr`, into the log a line at a time; created on first use. */
  readonly stderr = (): ScriptStderr => {
    if (this.#stderr === undefined) {
      this.#stderr = new ScriptStderr(this.#req.onStderrLine);
      if (this.#stderrClosed) this.#stderr.close();
    }
    return this.#stderr;
  };

  /** `process.stdin`, created on first use (a script that never reads its body pays nothing). */
  readonly stdin = (): ScriptStdin => (this.#stdin ??= new ScriptStdin(this.#req.stdin, this.#context));

  /** `console` over this run's stdout and stderr, created on first use (fresh counters, groups). */
  readonly console = (): Console =>
    (this.#console ??= new Console({ stdout: this.stdout, stderr: this.stderr(), colorMode: false }));

  /** True while output waits for the client or the script reads its body. */
  get busy(): boolean {
    return this.stdout.busy || this.#stdin?.busy === true;
  }

  /** True once the script wrote anything to stdout. */
  get anyOutput(): boolean {
    return this.stdout.anyOutput;
  }

  /**
   * Ends the script's output: what it wrote still goes out (all of it dropped with `discard`),
   * what it writes from now on does not; with `closeStderr` its later stderr is dropped too.
   */
  seal(discard: boolean, closeStderr: boolean): void {
    if (discard) this.stdout.destroy();
    else if (!this.stdout.writableEnded) this.stdout.end();
    if (closeStderr) {
      this.#stderrClosed = true;
      this.#stderr?.close();
    }
  }

  /** The run is over: the body is no longer fed to the script, the last stderr line is logged. */
  release(): void {
    this.#stdin?.detach();
    this.#stderr?.flush();
  }

  /** Resolves once the output reached the request (at once after `req` was aborted). */
  flushed(req: RuntimeRequest): Promise<void> {
    return streamFlushed(this.stdout, req);
  }
}
