// This file implements the `python` runtime from the perspective of a worker whose pool says
// `runtime = "python"`: one persistent python3 runner per worker (started before the worker
// says ready), one request at a time on it, and a new runner whenever one dies or is killed
// (a crash, `os._exit`, an out-of-memory kill, a timeout or client abort), so a failure costs
// only the request in flight.
import { spawn as nodeSpawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { PoolConfig } from '../../../config/schema.ts';
import { CgiError, ErrorCode } from '../../../errors.ts';
import type { Logger } from '../../../log/logger.ts';
import type { SpawnFunction } from '../exec.ts';
import type { Runtime, RuntimeHost, RuntimeRequest, RuntimeResult } from '../types.ts';
import { startPythonChild, type PythonChild } from './child.ts';
import { runRequest } from './request.ts';

/** What the python runtime gets at start. */
export interface PythonRuntimeDeps {
  readonly log: Logger;
  /** Starts the interpreter. @defaultValue `spawn` from `node:child_process` */
  readonly spawn?: SpawnFunction;
  /** The clock, in ms (respawn throttle). @defaultValue `Date.now` */
  readonly now?: () => number;
}

/** The runner shipped with cgi-fpm (copied next to the built file by `npm run build`). */
export const RUNNER_PATH = fileURLToPath(new URL('./runner.py', import.meta.url));

/** How long a runner may take to say hello, in ms. */
export const START_TIMEOUT_MS = 10_000;
/** How long a runner may take to exit once its channel is closed, in ms, before SIGKILL. */
export const CLOSE_GRACE_MS = 2000;
/** Shortest time between two runner starts that no request asked for, in ms (s6's throttle). */
export const RESPAWN_INTERVAL_MS = 1000;

/**
 * Starts the pool's python runtime: spawns `pool.python.executable` with the runner and
 * resolves once the runner said hello. Each run executes the script in that runner (see
 * runner.py for what the script sees); `pool.state.modules` / `pool.state.globals` choose
 * what it keeps between requests.
 * @throws DaemonError `ERR_RUNTIME_START` when the interpreter cannot be started, e.g.
 *   `runtime: python: cannot start "python9": spawn python9 ENOENT`.
 * @see docs/INTERFACES.md "worker/runtimes: lifecycle (issue 3)"
 */
export async function createPythonRuntime(
  pool: Pick<PoolConfig, 'python' | 'state'>,
  deps: PythonRuntimeDeps,
): Promise<RuntimeHost> {
  const host = new PythonHost(pool, deps);
  await host.start();
  return host;
}

/** Size of a memory page on Linux x86-64 and arm64 (statm counts pages). */
const PAGE_BYTES = 4096;

/** One worker's runner, replaced when it dies. */
class PythonHost implements RuntimeHost {
  readonly #executable: string;
  readonly #args: readonly string[];
  readonly #log: Logger;
  readonly #spawn: SpawnFunction;
  readonly #now: () => number;
  #child: PythonChild | undefined;
  #starting: Promise<PythonChild> | undefined;
  #respawnTimer: NodeJS.Timeout | undefined;
  #lastStartMs = 0;
  #closing = false;
  /** Runs queue here: the runner serves one request at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(pool: Pick<PoolConfig, 'python' | 'state'>, deps: PythonRuntimeDeps) {
    this.#executable = pool.python.executable;
    this.#args = [RUNNER_PATH, '--modules', pool.state.modules, '--globals', pool.state.globals];
    this.#log = deps.log;
    this.#spawn = deps.spawn ?? nodeSpawn;
    this.#now = deps.now ?? Date.now;
  }

  readonly run: Runtime = (req) => {
    const result = this.#queue.then(() => this.#runOne(req));
    this.#queue = result.catch(() => undefined);
    return result;
  };

  /** Starts the first runner; rejects as {@link createPythonRuntime} documents. */
  async start(): Promise<void> {
    await this.#start();
  }

  /** Resident memory of the runner, from /proc (0 when unknown), for `pm.max_memory`. */
  async childRssBytes(): Promise<number> {
    const pid = this.#child?.pid ?? 0;
    if (pid === 0) return 0;
    try {
      const statm = await readFile(`/proc/${pid}/statm`, 'utf8');
      return Number(statm.split(' ')[1] ?? 0) * PAGE_BYTES;
    } catch {
      return 0;
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#respawnTimer);
    await this.#starting?.catch(() => undefined);
    await this.#child?.close(CLOSE_GRACE_MS);
  }

  async #runOne(req: RuntimeRequest): Promise<RuntimeResult> {
    let child: PythonChild;
    try {
      child = await this.#ready();
    } catch (err) {
      throw new CgiError(
        ErrorCode.ERR_CGI_SPAWN,
        (err as Error).message,
        { scriptFilename: req.scriptFilename },
        { cause: err },
      );
    }
    return runRequest(child, req);
  }

  /** The live runner, or a new one (a request is waiting: no throttle). */
  #ready(): Promise<PythonChild> {
    if (this.#closing) return Promise.reject(new Error('runtime: python: closed'));
    if (this.#child?.alive === true) return Promise.resolve(this.#child);
    if (this.#starting !== undefined) return this.#starting;
    clearTimeout(this.#respawnTimer);
    this.#respawnTimer = undefined;
    return this.#start();
  }

  #start(): Promise<PythonChild> {
    this.#lastStartMs = this.#now();
    const starting = startPythonChild({
      executable: this.#executable,
      args: this.#args,
      spawn: this.#spawn,
      log: this.#log,
      startTimeoutMs: START_TIMEOUT_MS,
    });
    this.#starting = starting;
    return starting.then(
      (child) => {
        this.#starting = undefined;
        this.#child = child;
        this.#log.debug({ pid: child.pid, python: child.version }, 'python started');
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

  /** A runner died (or was killed): start the next one now, at most once a second. */
  #onExit(child: PythonChild, result: RuntimeResult): void {
    if (this.#child === child) this.#child = undefined;
    if (this.#closing) return;
    this.#log.warn({ pid: child.pid, exitCode: result.exitCode, signal: result.signal }, 'python exited');
    const waitMs = Math.max(0, this.#lastStartMs + RESPAWN_INTERVAL_MS - this.#now());
    this.#respawnTimer = setTimeout(() => {
      this.#respawnTimer = undefined;
      if (this.#closing || this.#child !== undefined || this.#starting !== undefined) return;
      this.#start().catch((err: unknown) => {
        // Not retried by itself: the next request tries again (and gets 502 if that fails).
        this.#log.error({ err: (err as Error).message }, 'python start failed');
      });
    }, waitMs);
  }
}
