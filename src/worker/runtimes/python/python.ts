// This file implements the `python` runtime from the perspective of a worker whose pool says
// `runtime = "python"`: each script runs with the interpreter its `#!` line names (one runner
// per interpreter the worker meets, `python.executable` for scripts without a python `#!`
// line, started before the worker says ready), one request at a time, in the pool's isolation
// (`persistent`: in the runner, put back after each request; `fork`: in a fresh fork of it).
import { spawn as nodeSpawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PoolConfig } from '../../../config/schema.ts';
import { CgiError, ErrorCode } from '../../../errors.ts';
import type { Logger } from '../../../log/logger.ts';
import type { SpawnFunction } from '../exec.ts';
import type { Runtime, RuntimeHost, RuntimeRequest, RuntimeResult } from '../types.ts';
import { encodeRequestHead, type DoneReport } from './frames.ts';
import { runRequest } from './request.ts';
import { RunnerSlot } from './runner-slot.ts';
import { ScriptInterpreters, interpreterKey, nodeSearchFs } from './script-interpreters.ts';
import type { Interpreter } from './shebang.ts';

export { CLOSE_GRACE_MS, RESPAWN_INTERVAL_MS, START_TIMEOUT_MS } from './runner-slot.ts';

/** The pool keys the python runtime reads; `env`/`clearEnv` absent: the worker's environment. */
export type PythonPool = Pick<PoolConfig, 'python' | 'state'> &
  Partial<Pick<PoolConfig, 'env' | 'clearEnv' | 'isolation' | 'preload'>>;

/** What the python runtime gets at start. */
export interface PythonRuntimeDeps {
  readonly log: Logger;
  /** The worker's environment (the runner's, with the pool's `env`, when `clear_env = false`). */
  readonly inherited?: Readonly<Record<string, string | undefined>>;
  /** Starts the interpreter. @defaultValue `spawn` from `node:child_process` */
  readonly spawn?: SpawnFunction;
  /** The clock, in ms (respawn throttle). @defaultValue `Date.now` */
  readonly now?: () => number;
}

/** The runner shipped with cgi-fpm (copied next to the built file by `npm run build`). */
export const RUNNER_PATH = fileURLToPath(new URL('./runner.py', import.meta.url));

/** Most interpreters one worker keeps a runner for; past it the least recently used closes. */
export const MAX_INTERPRETERS = 4;

/**
 * Starts the pool's python runtime: the runner of `pool.python.executable`, resolved once it
 * said hello. Each request then runs in the runner of the interpreter its script names (see
 * runner.py for what the script sees); `pool.isolation` and `pool.state` choose what it keeps.
 * @throws DaemonError `ERR_RUNTIME_START` when the interpreter cannot be started, e.g.
 *   `runtime: python: cannot start "python9": spawn python9 ENOENT`.
 * @see docs/ISOLATION.md, docs/INTERFACES.md "worker/runtimes: lifecycle (issue 3)"
 */
export async function createPythonRuntime(pool: PythonPool, deps: PythonRuntimeDeps): Promise<RuntimeHost> {
  const host = new PythonHost(pool, deps);
  await host.start();
  return host;
}

/**
 * The runner's environment: what a CGI script's interpreter starts with apart from the
 * request's own variables (the pool's `env`, plus the worker's environment when `clear_env =
 * false`), so `PYTHONPATH`, `PYTHONIOENCODING` or `TZ` in the pool's `env` reach the
 * interpreter as under CGI. `undefined` (inherit the worker's) when neither is known (tests).
 */
export function runnerEnvironment(
  pool: PythonPool,
  inherited: Readonly<Record<string, string | undefined>> | undefined,
): Record<string, string> | undefined {
  if (pool.env === undefined && inherited === undefined) return undefined;
  const base: Record<string, string> = {};
  if (inherited !== undefined && (pool.env === undefined || pool.clearEnv === false)) {
    for (const [name, value] of Object.entries(inherited)) if (value !== undefined) base[name] = value;
  }
  return { ...base, ...pool.env };
}

/**
 * `python.executable` as a path: a bare name is looked up in the worker's PATH (so the
 * interpreter knows its own `sys.executable` whatever PATH the runner's environment has).
 * Not found: the name itself, whose spawn then fails naming it.
 */
export function fallbackExecutable(executable: string, path: string | undefined): string {
  if (executable.includes('/') || path === undefined) return executable;
  for (const dir of path.split(':')) {
    if (dir === '') continue;
    const candidate = join(dir, executable);
    if (nodeSearchFs.isExecutableFile(candidate)) return candidate;
  }
  return executable;
}

/** One worker's runners, one per interpreter. */
class PythonHost implements RuntimeHost {
  readonly #deps: PythonRuntimeDeps;
  readonly #env: Record<string, string> | undefined;
  readonly #runnerArgs: readonly string[];
  readonly #interpreters: ScriptInterpreters;
  readonly #slots = new Map<string, RunnerSlot>();
  readonly #fallback: RunnerSlot;
  #closing = false;
  /** Runs queue here: a worker serves one request at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(pool: PythonPool, deps: PythonRuntimeDeps) {
    this.#deps = deps;
    this.#env = runnerEnvironment(pool, deps.inherited);
    const preload = pool.preload ?? [];
    this.#runnerArgs = [
      RUNNER_PATH,
      ...['--isolation', pool.isolation ?? 'persistent'],
      ...['--modules', pool.state.modules, '--globals', pool.state.globals],
      ...(preload.length > 0 ? ['--preload', preload.join(',')] : []),
    ];
    const executable = fallbackExecutable(pool.python.executable, deps.inherited?.PATH);
    const fallback: Interpreter = { executable, args: [] };
    this.#interpreters = new ScriptInterpreters(fallback);
    this.#fallback = this.#slot(fallback);
  }

  readonly run: Runtime = (req) => {
    const result = this.#queue.then(() => this.#runOne(req));
    this.#queue = result.catch(() => undefined);
    return result;
  };

  /** Starts the fallback interpreter's runner; rejects as {@link createPythonRuntime} documents. */
  async start(): Promise<void> {
    await this.#fallback.start();
  }

  /** Resident memory of the runners, from /proc, for `pm.max_memory`. */
  async childRssBytes(): Promise<number> {
    const sizes = await Promise.all([...this.#slots.values()].map((slot) => slot.rssBytes()));
    return sizes.reduce((sum, size) => sum + size, 0);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#slots.values()].map((slot) => slot.close()));
  }

  async #runOne(req: RuntimeRequest): Promise<RuntimeResult> {
    if (this.#closing) throw spawnError(req, new Error('runtime: python: closed'));
    const interpreter = this.#interpreters.of(req.scriptFilename, req.cwd, req.env, req.scriptFd);
    const head = encodeRequestHead(req.scriptFilename, req.cwd, req.env);
    const slot = this.#slot(interpreter);
    slot.lastUsedMs = (this.#deps.now ?? Date.now)();
    let child;
    try {
      child = await slot.ready();
    } catch (err) {
      throw spawnError(req, err);
    }
    return runRequest(child, req, head, (report) => {
      this.#done(req, child.pid, report);
    });
  }

  #done(req: RuntimeRequest, pid: number, report: DoneReport): void {
    const log = this.#deps.log;
    if (report.recycle !== undefined) {
      log.warn({ script: req.scriptFilename, pythonPid: pid, reason: report.recycle }, 'python runner recycled');
    }
    log.debug({ script: req.scriptFilename, checkUs: report.checkUs }, 'python state checked');
  }

  /** The slot of `interpreter`, made (and the least recently used one closed) if needed. */
  #slot(interpreter: Interpreter): RunnerSlot {
    const key = interpreterKey(interpreter);
    const known = this.#slots.get(key);
    if (known !== undefined) return known;
    if (this.#slots.size >= MAX_INTERPRETERS) this.#evict();
    const slot = new RunnerSlot({
      interpreter,
      runnerArgs: this.#runnerArgs,
      env: this.#env,
      spawn: this.#deps.spawn ?? nodeSpawn,
      log: this.#deps.log,
      now: this.#deps.now ?? Date.now,
    });
    this.#slots.set(key, slot);
    return slot;
  }

  #evict(): void {
    let oldest: [string, RunnerSlot] | undefined;
    for (const entry of this.#slots) {
      if (entry[1] === this.#fallback) continue;
      if (oldest === undefined || entry[1].lastUsedMs < oldest[1].lastUsedMs) oldest = entry;
    }
    if (oldest === undefined) return;
    this.#slots.delete(oldest[0]);
    void oldest[1].close();
  }
}

/**
 * A runner that could not start for a request, as the exec runtime reports a failed spawn:
 * the cause is the innermost error (its errno `code`: EACCES is answered 403, others 502).
 */
function spawnError(req: RuntimeRequest, err: unknown): CgiError {
  let cause = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return new CgiError(
    ErrorCode.ERR_CGI_SPAWN,
    (err as Error).message,
    { scriptFilename: req.scriptFilename },
    { cause },
  );
}
