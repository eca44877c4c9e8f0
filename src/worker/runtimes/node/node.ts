// This file implements the `node` runtime from the perspective of a worker whose pool runs
// unmodified CommonJS CGI scripts in memory: scripts are compiled once per worker and re-run
// in the worker itself, one request at a time, each in an emulated process of its own, with
// the pool's `state.modules` / `state.globals` policies deciding what survives a request.
import type { PoolConfig } from '../../../config/schema.ts';
import { errorPage } from '../../../cgi/error-page.ts';
import { CgiError, ErrorCode } from '../../../errors.ts';
import type { Logger } from '../../../log/logger.ts';
import type { RuntimeHost, RuntimeRequest, RuntimeResult } from '../types.ts';
import { ProcessEmulation, ScriptExit } from './process-emulation.ts';
import { ScriptActivity } from './script-activity.ts';
import { ScriptCache } from './script-cache.ts';
import { ScriptRun } from './script-run.ts';
import { InterpreterCheck } from './interpreter.ts';
import { ownTimers } from './script-timers.ts';
import { StateReset } from './state-reset.ts';

/** What the node runtime needs at start. */
export interface NodeRuntimeDeps {
  readonly log: Logger;
  /**
   * Asks for this worker to be replaced after the request in flight (the worker's `recycle`
   * message), because a script changed what the runtime cannot put back. Called before the
   * request's run resolves, so before its END_REQUEST. Without it, the runtime only refuses
   * later requests.
   */
  readonly recycle?: (reason: string) => void;
}

/**
 * Loads the `node` runtime for `pool`. Per request, the script named by `scriptFilename` runs
 * as CommonJS with `process.env` = the request's CGI environment, `process.stdin` = the body,
 * `process.stdout` / `console.log` = the CGI output (with backpressure), `process.stderr` /
 * `console.error` = log lines, `process.argv = [node, script]`, the script's directory as cwd,
 * and `require` resolving from the script's file. The request ends when the script calls
 * `process.exit()`, when nothing it started is left (what `process.getActiveResourcesInfo()`
 * lists beyond the run's start — timers, sockets, requests, child processes —, thread-pool jobs,
 * worker threads, the body it reads, output not yet accepted), on an uncaught exception or
 * unhandled rejection (`Status: 500` when nothing was written yet, the stack in the log), or on
 * abort (its timers are cleared, its child processes killed and worker threads terminated).
 * A script whose shebang names another interpreter is refused (500, `script interpreter
 * refused`). After each request the worker is put back as docs/ISOLATION-node.md's table says;
 * what cannot be put back (a frozen built-in, a server left listening after an exit) makes the
 * runtime ask for the worker to be replaced (`deps.recycle`) and refuse later requests (503).
 *
 * Limits, as for any in-process runtime: a synchronous endless loop blocks the worker until
 * the supervisor kills it (504 after `request_terminate_timeout` + 1 s); file descriptors 0, 1
 * and 2 are the worker's (`fs.readFileSync(0)`, `fs.writeSync(1, …)` bypass the emulation);
 * `process.kill(process.pid)`, `process.abort()` and signal handlers act on the worker; a native
 * addon's asynchronous work is not seen (the run may end before its callback); references to
 * `process.stdout` or `console` captured by a module kept warm (`state.modules = "keep"`) point
 * at the request that loaded it.
 * @throws never: the runtime resolves at once (built-ins are captured synchronously).
 * @see docs/INTERFACES.md "worker/runtimes: lifecycle (issue 3)"
 */
export function createNodeRuntime(pool: PoolConfig, deps: NodeRuntimeDeps): Promise<RuntimeHost> {
  const runtime = new NodeRuntime(pool, deps);
  return Promise.resolve({ run: (req) => runtime.run(req), close: () => runtime.close(), afterEnd: () => { runtime.afterEnd(); } });
}

/** `process` members the emulation owns (process-emulation.ts), and `exitCode`, which it saves and restores. */
const EMULATED_PROCESS_MEMBERS = ['env', 'argv', 'stdin', 'stdout', 'stderr', 'exit', 'mainModule', 'exitCode'];

/** The node runtime of one worker. */
class NodeRuntime {
  readonly #cache: ScriptCache;
  readonly #activity = new ScriptActivity();
  readonly #emulation = new ProcessEmulation(() => this.#activity.isScript());
  readonly #resetModules: boolean;
  readonly #state: StateReset;
  readonly #interpreters = new InterpreterCheck();
  readonly #log: Logger;
  readonly #recycle: ((reason: string) => void) | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #current: ScriptRun | undefined;
  /** Why this worker asked to be replaced; it then runs no more scripts. */
  #recycling: string | undefined;
  /** The script of the last run, for the log of what its scan found. */
  #lastScript = '';
  /** The worker calls {@link NodeRuntime.afterEnd}: the scan needs no immediate of its own. */
  #hostCallsAfterEnd = false;

  constructor(pool: PoolConfig, deps: NodeRuntimeDeps) {
    const { log } = deps;
    this.#log = log;
    this.#recycle = deps.recycle;
    this.#cache = new ScriptCache({
      onCompile: (scriptFilename) => {
        log.debug({ script: scriptFilename }, 'node script compiled');
      },
    });
    this.#resetModules = pool.state.modules === 'reset';
    // Before the state is captured: the emulated `process` members and `console`, the wrapped
    // timer and job functions and the runtime's own listeners are part of the worker.
    this.#emulation.install();
    this.#activity.enable();
    process.on('uncaughtException', this.#onUncaughtException);
    process.on('unhandledRejection', this.#onUnhandledRejection);
    this.#state = new StateReset(
      pool.state.globals === 'reset',
      { process: new Set(EMULATED_PROCESS_MEMBERS), global: new Set(['console']) },
      this.#resetModules,
    );
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
    this.#activity.disable();
    this.#emulation.uninstall();
    process.off('uncaughtException', this.#onUncaughtException);
    process.off('unhandledRejection', this.#onUnhandledRejection);
    return Promise.resolve();
  }

  /** The last request's END_REQUEST is out (RuntimeHost.afterEnd): the scan runs now. */
  afterEnd(): void {
    this.#hostCallsAfterEnd = true;
    this.#scan();
  }

  /** The comparison of every built-in value after the last run, if not done yet (see StateReset.scan). */
  readonly #scan = (): void => {
    const problems = this.#state.scan();
    if (problems.length > 0) this.#requestRecycle(this.#lastScript, problems);
  };

  /**
   * A script left the worker in a state the runtime cannot put back: the worker asks to be
   * replaced after this request (before its END_REQUEST) and runs no other script.
   */
  #requestRecycle(script: string, reasons: readonly string[]): void {
    if (this.#recycling !== undefined) return;
    const reason = reasons.join('; ');
    this.#recycling = reason;
    this.#log.warn({ script, reason }, 'worker recycling');
    this.#recycle?.(reason);
  }

  /** A request that reached a worker already asked to be replaced: 503, never a tainted run. */
  #refuse(req: RuntimeRequest): RuntimeResult {
    this.#log.warn({ script: req.scriptFilename, reason: this.#recycling }, 'request refused: worker recycling');
    req.stdout.write(errorPage(503, [['Retry-After', '1']]));
    return { exitCode: null, signal: null };
  }

  async #runOne(req: RuntimeRequest): Promise<RuntimeResult> {
    this.#scan();
    if (this.#recycling !== undefined) return this.#refuse(req);
    const script = this.#cache.load(req.scriptFilename, req.scriptFd, req.scriptStats);
    // `aborted`, not `signal.aborted`: the signal is made only when a runtime reads it (run-abort.ts).
    if (req.aborted) return { exitCode: null, signal: null };
    const refusal = this.#interpreters.refusal(script.shebang, req.env.PATH);
    if (refusal !== undefined) {
      this.#log.error(
        { script: req.scriptFilename, interpreter: script.shebang?.line, node: this.#interpreters.node, reason: refusal },
        'script interpreter refused',
      );
      req.stdout.write(errorPage(500));
      return { exitCode: null, signal: null };
    }
    if (script.importsDynamically) this.#state.loadsModules();
    const run = new ScriptRun(req, script, {
      activity: this.#activity,
      emulation: this.#emulation,
      resetModules: this.#resetModules,
      reset: () => this.#state.afterRun(),
    });
    this.#current = run;
    try {
      const result = await run.execute();
      const reasons = [...run.leftovers.map((left) => `left running: ${left}`), ...run.resetProblems];
      if (reasons.length > 0) this.#requestRecycle(req.scriptFilename, reasons);
      this.#lastScript = req.scriptFilename;
      // The scan runs once this END_REQUEST is out, while the supervisor handles it and sends the
      // next request: called by the worker (afterEnd), else on a ref'd immediate (the loop does
      // not wait in poll first), and in any case before the next run.
      if (this.#state.scanDue && !this.#hostCallsAfterEnd) ownTimers.setImmediate(this.#scan);
      return result;
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new CgiError(
        ErrorCode.ERR_CGI_SPAWN,
        `cgi: node: cannot run script: ${detail}`,
        { scriptFilename: req.scriptFilename },
        { cause: err },
      );
    } finally {
      this.#current = undefined;
    }
  }
}
