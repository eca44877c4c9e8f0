// This file implements the `node` runtime from the perspective of a worker whose pool runs
// unmodified CommonJS CGI scripts in memory: scripts are compiled once per worker and re-run
// in the worker itself, one request at a time, each in an emulated process of its own, with
// the pool's `state.modules` / `state.globals` policies deciding what survives a request.
import type { PoolConfig } from '../../../config/schema.ts';
import { CgiError, ErrorCode } from '../../../errors.ts';
import type { Logger } from '../../../log/logger.ts';
import type { RuntimeHost, RuntimeRequest, RuntimeResult } from '../types.ts';
import { AsyncTracker } from './async-tracker.ts';
import { ProcessEmulation, ScriptExit } from './process-emulation.ts';
import { ScriptCache } from './script-cache.ts';
import { ScriptRun } from './script-run.ts';
import { GlobalsBaseline } from './globals-baseline.ts';

/** What the node runtime needs at start. */
export interface NodeRuntimeDeps {
  readonly log: Logger;
}

/**
 * Loads the `node` runtime for `pool`. Per request, the script named by `scriptFilename` runs
 * as CommonJS with `process.env` = the request's CGI environment, `process.stdin` = the body,
 * `process.stdout` / `console.log` = the CGI output (with backpressure), `process.stderr` /
 * `console.error` = log lines, `process.argv = [node, script]`, the script's directory as cwd,
 * and `require` resolving from the script's file. The request ends when the script calls
 * `process.exit()`, when nothing it started is left (timers, sockets, requests, child
 * processes, the body it reads, output not yet accepted), on an uncaught exception or unhandled
 * rejection (`Status: 500` when nothing was written yet, the stack in the log), or on abort
 * (its timers are cleared, its sockets, servers and child processes destroyed).
 *
 * Limits, as for any in-process runtime: a synchronous endless loop blocks the worker until
 * the supervisor kills it (504 after `request_terminate_timeout` + 1 s); file descriptors 0, 1
 * and 2 are the worker's (`fs.readFileSync(0)`, `fs.writeSync(1, …)` bypass the emulation);
 * `process.kill(process.pid)`, `process.abort()` and signal handlers act on the worker; a
 * callback still pending more than 100 ms after its script exited or failed (a slow DNS
 * answer) runs outside any request; references to `process.stdout` or `console` captured by a
 * module kept warm (`state.modules = "keep"`) point at the request that loaded it; only own
 * properties of `globalThis` are reset (`Array.prototype` changes persist).
 * @throws never: the runtime needs no start-up work and resolves at once.
 * @see docs/INTERFACES.md "worker/runtimes: lifecycle (issue 3)"
 */
export function createNodeRuntime(pool: PoolConfig, deps: NodeRuntimeDeps): Promise<RuntimeHost> {
  const runtime = new NodeRuntime(pool, deps.log);
  return Promise.resolve({ run: (req) => runtime.run(req), close: () => runtime.close() });
}

/** The node runtime of one worker. */
class NodeRuntime {
  readonly #cache: ScriptCache;
  readonly #tracker = new AsyncTracker();
  readonly #emulation = new ProcessEmulation();
  readonly #resetModules: boolean;
  readonly #globals: GlobalsBaseline | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #current: ScriptRun | undefined;

  constructor(pool: PoolConfig, log: Logger) {
    this.#cache = new ScriptCache({
      onCompile: (scriptFilename) => {
        log.debug({ script: scriptFilename }, 'node script compiled');
      },
    });
    this.#resetModules = pool.state.modules === 'reset';
    // Before the globals baseline: the installed `console` accessor is part of the worker.
    this.#emulation.install();
    this.#globals = pool.state.globals === 'reset' ? new GlobalsBaseline() : undefined;
    this.#tracker.enable();
    process.on('uncaughtException', this.#onUncaughtException);
    process.on('unhandledRejection', this.#onUnhandledRejection);
  }

  /**
   * Installed for the runtime's whole life, not per run: a `process.exit()` unwinding through
   * a script's promise chain (`main().catch((e) => process.exit(1))`) rejects again in
   * microtasks that may run after its request was wound down.
   */
  readonly #onUncaughtException = (err: unknown): void => {
    this.#dispatch(err, 'uncaughtException');
  };

  readonly #onUnhandledRejection = (reason: unknown): void => {
    this.#dispatch(reason, 'unhandledRejection');
  };

  #dispatch(err: unknown, event: 'uncaughtException' | 'unhandledRejection'): void {
    if (err instanceof ScriptExit) return;
    if (this.#current === undefined) throw err; // Not a script's: the worker fails as without us.
    this.#current.uncaught(err, event);
  }

  /** Runs one request; a second one waits for the first (CGI emulation is process-wide). */
  run(req: RuntimeRequest): Promise<RuntimeResult> {
    const result = this.#queue.then(() => this.#runOne(req));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  close(): Promise<void> {
    this.#tracker.disable();
    this.#emulation.uninstall();
    process.off('uncaughtException', this.#onUncaughtException);
    process.off('unhandledRejection', this.#onUnhandledRejection);
    return Promise.resolve();
  }

  async #runOne(req: RuntimeRequest): Promise<RuntimeResult> {
    const script = this.#cache.load(req.scriptFilename);
    if (req.signal.aborted) return { exitCode: null, signal: null };
    const run = new ScriptRun(req, script, {
      tracker: this.#tracker,
      emulation: this.#emulation,
      resetModules: this.#resetModules,
      globals: this.#globals,
    });
    this.#current = run;
    try {
      return await run.execute();
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new CgiError(
        ErrorCode.ERR_CGI_SPAWN,
        `cgi: node: cannot run script: ${detail}`,
        { scriptFilename: req.scriptFilename },
        { cause: err },
      );
    } finally {
      this.#tracker.reset();
      this.#current = undefined;
    }
  }
}
