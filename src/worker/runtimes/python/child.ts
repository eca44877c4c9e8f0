// This file implements one python runner process from the perspective of the python runtime
// host: spawned in its own process group with the channel on fds 3 (to it) and 4 (from it),
// ready once it says hello, its frames routed to the request in flight, stopped by closing
// the channel or by SIGKILL to its group.
import type { Logger } from '../../../log/logger.ts';
import type { SpawnFunction } from '../exec.ts';
import type { RuntimeResult } from '../types.ts';
import {
  killGroup,
  readLines,
  spawnRunner,
  startError,
  whenGone,
  type RunnerProcess,
} from './child-process.ts';
import { FrameSender } from './frame-sender.ts';
import { Frame, FrameParser, decodeDone, type DoneReport } from './frames.ts';

/** Where a runner's output goes while a request runs. */
export interface ChildSink {
  /** Response bytes (STDOUT frames), in order. */
  stdout(piece: Buffer): void;
  /** Log bytes the script wrote to sys.stderr (STDERR frames). */
  stderr(piece: Buffer): void;
  /** The script ended (DONE frame). */
  done(report: DoneReport): void;
  /** A line the interpreter wrote to its real fd 1 or 2 (a subprocess, a crash dump). */
  line(line: string): void;
  /** The runner is gone (exited, killed) and all it wrote was delivered. */
  ended(result: RuntimeResult): void;
}

/** Settings of {@link startPythonChild}. */
export interface PythonChildOptions {
  /** The interpreter (`python.executable`). */
  readonly executable: string;
  /** Its arguments: the `#!` line's, the runner's path and its flags. */
  readonly args: readonly string[];
  /** Its whole environment (the worker's when absent). */
  readonly env?: Readonly<Record<string, string>>;
  /** Starts the process (`child_process.spawn` outside tests). */
  readonly spawn: SpawnFunction;
  /** Where the interpreter's own output goes while no request runs (`python stderr`). */
  readonly log: Logger;
  /** How long the runner may take to say hello, in ms. */
  readonly startTimeoutMs: number;
}

/**
 * Starts a runner and resolves once it said hello.
 * @throws DaemonError `ERR_RUNTIME_START` (`runtime: python: cannot start "python9": spawn python9
 *   ENOENT`) when it cannot be spawned, exits or stays silent past `startTimeoutMs`.
 */
export async function startPythonChild(options: PythonChildOptions): Promise<PythonChild> {
  const runner = spawnRunner(options.spawn, options.executable, options.args, options.env);
  const child = new PythonChild(runner, options);
  await child.ready(options.startTimeoutMs);
  return child;
}

/** A started runner process. */
export class PythonChild {
  /** Resolves once the process exited and its channel closed: how it ended. */
  readonly exited: Promise<RuntimeResult>;
  /** Frames to the runner. */
  readonly channel: FrameSender;
  readonly #runner: RunnerProcess;
  readonly #options: PythonChildOptions;
  readonly #recent: string[] = [];
  #hello: ((err?: Error, version?: string) => void) | undefined;
  #sink: ChildSink | undefined;
  #alive = true;
  #retiring: string | undefined;
  #version = '';

  constructor(runner: RunnerProcess, options: PythonChildOptions) {
    this.#runner = runner;
    this.#options = options;
    this.channel = new FrameSender(runner.input);
    const parser = new FrameParser([Frame.STDOUT, Frame.STDERR], {
      data: (type, piece) => {
        if (type === Frame.STDOUT) this.#sink?.stdout(piece);
        else this.#sink?.stderr(piece);
      },
      frame: (type, payload) => {
        this.#frame(type, payload);
      },
    });
    runner.output.on('data', (chunk: Buffer) => {
      try {
        parser.push(chunk);
      } catch (failure) {
        this.#line(`runner protocol error: ${(failure as Error).message}`);
        this.kill();
      }
    });
    const onLine = (line: string): void => {
      this.#line(line);
    };
    readLines(runner.out, onLine);
    readLines(runner.err, onLine);
    runner.proc.once('exit', () => {
      this.#alive = false;
    });
    runner.proc.once('error', (err) => {
      if (runner.proc.pid === undefined) this.#alive = false;
      this.#hello?.(err);
    });
    this.exited = this.#watchExit();
  }

  /** The process id (also its process group id). */
  get pid(): number {
    return this.#runner.proc.pid ?? 0;
  }

  /** The interpreter version the runner reported. */
  get version(): string {
    return this.#version;
  }

  /** False once the process exited (or never started). */
  get alive(): boolean {
    return this.#alive;
  }

  /**
   * Why the runner leaves after its last request (it said so in that request's DONE frame:
   * it could not put its state back), or `undefined`. A retiring runner takes no request.
   */
  get retiring(): string | undefined {
    return this.#retiring;
  }

  /** Resolves on hello; rejects (and kills) on exit, spawn error or timeout. */
  ready(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#hello?.(new Error(`no hello within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#hello = (err, version) => {
        clearTimeout(timer);
        this.#hello = undefined;
        if (err === undefined) {
          this.#version = version ?? '';
          resolve();
          return;
        }
        this.kill();
        const last = this.#recent.at(-1);
        reject(
          startError(
            this.#options.executable,
            last === undefined ? err.message : `${err.message}: ${last}`,
            err,
          ),
        );
      };
    });
  }

  /** Routes output to `sink` (the request in flight), or to the log when `undefined`. */
  attach(sink: ChildSink | undefined): void {
    this.#sink = sink;
  }

  /** Stops reading the runner's frames (the response destination is full). */
  pauseOutput(): void {
    this.#runner.output.pause();
  }

  /** Reads the runner's frames again. */
  resumeOutput(): void {
    this.#runner.output.resume();
  }

  /** SIGKILL to the runner's whole process group (what scripts started included). */
  kill(): void {
    killGroup(this.#runner.proc);
  }

  /** Closes the channel (the runner exits by itself), SIGKILL after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.channel.end();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([this.exited, grace]);
    clearTimeout(timer);
    this.kill();
    await this.exited;
  }

  #frame(type: number, payload: Buffer): void {
    if (type === Frame.HELLO) {
      const hello = JSON.parse(payload.toString('utf8')) as { python?: unknown };
      this.#hello?.(undefined, String(hello.python));
    } else if (type === Frame.DONE) {
      const report = decodeDone(payload);
      if (report.recycle !== undefined) this.#retiring = report.recycle;
      this.#sink?.done(report);
    } else {
      throw new RangeError(`unexpected frame type ${type}`);
    }
  }

  #line(line: string): void {
    this.#recent.push(line);
    if (this.#recent.length > 5) this.#recent.shift();
    if (this.#sink !== undefined) this.#sink.line(line);
    else this.#options.log.warn({ pythonPid: this.pid, line }, 'python stderr');
  }

  /** Resolves once the runner is gone; fails a pending hello and ends the request in flight. */
  async #watchExit(): Promise<RuntimeResult> {
    const result = await whenGone(this.#runner);
    this.#alive = false;
    const how = result.signal !== null ? `killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    this.#hello?.(new Error(`${how} before its hello`));
    this.#sink?.ended(result);
    return result;
  }
}
