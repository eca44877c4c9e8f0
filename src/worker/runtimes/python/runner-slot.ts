// This file implements the runner of one interpreter in one worker from the perspective of the
// python runtime host: started (and said hello) before it serves, replaced when it dies (a
// crash, `os._exit`, an out-of-memory kill, a timeout or client abort) or when it retires
// after a request whose state it could not put back, so a failure costs only the request in
// flight.
import { readRssBytes } from '../../rss.ts';
import type { Logger } from '../../../log/logger.ts';
import type { SpawnFunction } from '../exec.ts';
import type { RuntimeResult } from '../types.ts';
import { startPythonChild, type PythonChild } from './child.ts';
import type { Interpreter } from './shebang.ts';

/** How long a runner may take to say hello, in ms. */
export const START_TIMEOUT_MS = 10_000;
/** How long a runner may take to exit once its channel is closed, in ms, before SIGKILL. */
export const CLOSE_GRACE_MS = 2000;
/** Shortest time between two runner starts that no request asked for, in ms (s6's throttle). */
export const RESPAWN_INTERVAL_MS = 1000;


/** What a {@link RunnerSlot} starts and with what. */
export interface RunnerSlotOptions {
  readonly interpreter: Interpreter;
  /** The runner's path and flags, after the interpreter's own arguments. */
  readonly runnerArgs: readonly string[];
  /** The runner's whole environment (the worker's when absent). */
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly spawn: SpawnFunction;
  readonly log: Logger;
  readonly now: () => number;
}

/** One interpreter's runner, replaced when it dies or retires. */
export class RunnerSlot {
  readonly interpreter: Interpreter;
  readonly #options: RunnerSlotOptions;
  #child: PythonChild | undefined;
  #starting: Promise<PythonChild> | undefined;
  #respawnTimer: NodeJS.Timeout | undefined;
  #lastStartMs = 0;
  #closing = false;
  /** Last use, in ms (the host closes the least recently used slot when it has too many). */
  lastUsedMs = 0;

  constructor(options: RunnerSlotOptions) {
    this.interpreter = options.interpreter;
    this.#options = options;
  }

  /** Starts a runner; rejects as `startPythonChild` does. */
  async start(): Promise<void> {
    await this.#start();
  }

  /** The live runner, or a new one (a request is waiting: no throttle). */
  ready(): Promise<PythonChild> {
    if (this.#closing) return Promise.reject(new Error('runtime: python: closed'));
    const child = this.#child;
    if (child?.alive === true && child.retiring === undefined) return Promise.resolve(child);
    if (this.#starting !== undefined) return this.#starting;
    clearTimeout(this.#respawnTimer);
    this.#respawnTimer = undefined;
    return this.#start();
  }

  /** Resident memory of the runner, from /proc (0 when unknown), for `pm.max_memory`. */
  async rssBytes(): Promise<number> {
    const pid = this.#child?.pid ?? 0;
    if (pid === 0) return 0;
    return readRssBytes(pid);
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#respawnTimer);
    await this.#starting?.catch(() => undefined);
    await this.#child?.close(CLOSE_GRACE_MS);
  }

  #start(): Promise<PythonChild> {
    const { interpreter, runnerArgs, env, spawn, log } = this.#options;
    this.#lastStartMs = this.#options.now();
    const starting = startPythonChild({
      executable: interpreter.executable,
      args: [...interpreter.args, ...runnerArgs],
      ...(env === undefined ? {} : { env }),
      spawn,
      log,
      startTimeoutMs: START_TIMEOUT_MS,
    });
    this.#starting = starting;
    return starting.then(
      (child) => {
        this.#starting = undefined;
        this.#child = child;
        log.debug(
          { pythonPid: child.pid, python: child.version, executable: interpreter.executable },
          'python started',
        );
        void child.exited.then((result) => {
          this.#onExit(child, result);
        });
        return child;
      },
      (err: unknown) => {
        this.#starting = undefined;
        throw err;
      },
    );
  }

  /**
   * A runner is gone. One that retired said why already (`python runner recycled`): its
   * successor starts now. Any other died: logged, and the next starts at most once a second.
   */
  #onExit(child: PythonChild, result: RuntimeResult): void {
    if (this.#child === child) this.#child = undefined;
    if (this.#closing) return;
    const retired = child.retiring !== undefined;
    if (!retired) {
      this.#options.log.warn(
        { pythonPid: child.pid, exitCode: result.exitCode, signal: result.signal },
        'python exited',
      );
    }
    const waitMs = retired ? 0 : Math.max(0, this.#lastStartMs + RESPAWN_INTERVAL_MS - this.#options.now());
    this.#respawnTimer = setTimeout(() => {
      this.#respawnTimer = undefined;
      if (this.#closing || this.#child !== undefined || this.#starting !== undefined) return;
      this.#start().catch((err: unknown) => {
        // Not retried by itself: the next request tries again (and gets 502 if that fails).
        this.#options.log.error({ err: (err as Error).message }, 'python start failed');
      });
    }, waitMs);
  }
}
