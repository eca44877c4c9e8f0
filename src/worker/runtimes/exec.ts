// This file implements the `exec` runtime from the perspective of a worker running one CGI
// request as RFC 3875 describes it for UNIX: fork/exec of the script (its `#!` line names the
// interpreter) in its own process group, body streamed to stdin while stdout is read, stderr
// split into lines, and TERM then KILL to the whole group when the request is aborted.
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { CgiError, ErrorCode } from '../../errors.ts';
import { execCommand } from './exec-command.ts';
import { pathSwapSafe } from '../script-file.ts';
import { feedStdin, pumpStdout, readStderr, type Pump } from './exec-streams.ts';
import type { Runtime, RuntimeRequest, RuntimeResult } from './types.ts';

/** The part of `child_process.spawn` the runtime uses; injectable for tests. */
export type SpawnFunction = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** Settings of {@link createExecRuntime}. */
export interface ExecRuntimeOptions {
  /** Starts the child. @defaultValue `spawn` from `node:child_process` */
  readonly spawn?: SpawnFunction;
  /**
   * Time between SIGTERM and SIGKILL to the script's process group after an abort, in ms.
   * @defaultValue `2000`
   */
  readonly killGraceMs?: number;
  /**
   * How long stderr may stay open after the script exited and stdout ended, in ms (a
   * background child holding stderr must not hold the request).
   * @defaultValue `100`
   */
  readonly stderrGraceMs?: number;
  /**
   * SIGKILL the script's process group when the request ends (response done, abort or
   * timeout), so background children it left in its group do not outlive the request
   * (`exec.kill_group_at_end`).
   * @defaultValue `true`
   */
  readonly killGroupAtEnd?: boolean;
}

/** Default {@link ExecRuntimeOptions.killGraceMs}. */
export const DEFAULT_KILL_GRACE_MS = 2000;
/** Default {@link ExecRuntimeOptions.stderrGraceMs}. */
export const DEFAULT_STDERR_GRACE_MS = 100;

/**
 * Creates an `exec` runtime. Each run spawns `scriptPath` (the bytes of the file's name) with no
 * arguments (no ISINDEX command line, RFC 3875 §4.4 "SHOULD NOT"; the class of CVE-2012-1823),
 * `environment` as the whole environment (each value the bytes the web server sent, see
 * exec-command.ts), in the script's directory, `detached` (a new session and process group,
 * signalled as `-pid`).
 * The run resolves once the script exited and stdout reached end of file with every byte
 * written into `req.stdout`, so a background process keeping stdout open keeps the request
 * open, as with Apache mod_cgi, until it exits or the request is aborted. Writes that
 * `req.stdout` refuses (errored, destroyed) make the rest of the output be discarded; the
 * caller sees that error on its own stream.
 * @throws CgiError `ERR_CGI_SPAWN` (rejection) when the script cannot be started: missing
 *   file or interpreter (ENOENT), not executable (EACCES), bad cwd, bad environment. The
 *   body is then left unread for the caller.
 * @see RFC 3875 §7.2 (UNIX), §4.4 (command line), §6 (response)
 */
export function createExecRuntime(options: ExecRuntimeOptions = {}): Runtime {
  const settings: Settings = {
    spawn: options.spawn ?? nodeSpawn,
    killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    stderrGraceMs: options.stderrGraceMs ?? DEFAULT_STDERR_GRACE_MS,
    killGroupAtEnd: options.killGroupAtEnd ?? true,
  };
  return (req) => runExec(req, settings);
}

/** The `exec` runtime with the default settings and `node:child_process` spawn. */
export const execRuntime: Runtime = createExecRuntime();

type Settings = Required<ExecRuntimeOptions>;

async function runExec(req: RuntimeRequest, settings: Settings): Promise<RuntimeResult> {
  const child = start(req, settings.spawn);
  const exited = new Promise<RuntimeResult>((resolve) => {
    child.once('exit', (exitCode, signal) => {
      resolve({ exitCode, signal });
    });
  });
  const stdout = pumpStdout(pipeOf(child.stdout), req.stdout, req.signal);
  const stderr = readStderr(pipeOf(child.stderr), req.onStderrLine);
  try {
    await spawned(child, req.scriptFilename);
  } catch (err) {
    stdout.stop();
    stderr.stop();
    throw err;
  }
  if (child.pid !== undefined) req.onSpawn?.(child.pid);
  const stdin = feedStdin(req.stdin, pipeOf(child.stdin));
  const killer = new GroupKiller(pipeOf(child.pid), settings.killGraceMs, [stdout, stderr]);
  const onAbort = (): void => {
    killer.terminate();
  };
  req.signal.addEventListener('abort', onAbort, { once: true });
  if (req.signal.aborted) onAbort();
  try {
    const [result] = await Promise.all([exited, stdout.done]);
    killer.finished(settings.killGroupAtEnd);
    await stderr.settle(settings.stderrGraceMs);
    return result;
  } finally {
    req.signal.removeEventListener('abort', onAbort);
    killer.finished(settings.killGroupAtEnd);
    stdin.stop();
  }
}

/** Where the child finds the script's descriptor when it runs through it. */
const SCRIPT_FD_PATH = '/proc/self/fd/3';

/**
 * Spawns the child; a synchronous spawn failure becomes ERR_CGI_SPAWN like an async one. The
 * script runs by its path when nobody but root can swap a directory on that path; otherwise
 * through the descriptor the worker opened and checked (passed as the child's fd 3), at the
 * cost of `$0` reading `/proc/self/fd/3` in a `#!` script (docs/DESIGN.md, "The checked file
 * is the executed file").
 */
function start(req: RuntimeRequest, spawn: SpawnFunction): ChildProcess {
  try {
    const fd = req.scriptFd;
    const viaFd = fd !== undefined && !pathSwapSafe(req.scriptPath ?? Buffer.from(req.scriptFilename));
    const command = execCommand(req, viaFd ? SCRIPT_FD_PATH : undefined);
    return spawn(command.file, command.args, {
      cwd: command.cwd,
      env: command.env,
      detached: true,
      stdio: viaFd ? ['pipe', 'pipe', 'pipe', fd] : ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw spawnError(req.scriptFilename, err);
  }
}

/** Resolves on 'spawn', rejects with ERR_CGI_SPAWN on an 'error' before it. */
function spawned(child: ChildProcess, scriptFilename: string): Promise<void> {
  // A later 'error' (a failed kill) must not crash the worker.
  child.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const onSpawn = (): void => {
      child.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      child.off('spawn', onSpawn);
      reject(spawnError(scriptFilename, err));
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
}

function spawnError(scriptFilename: string, err: unknown): CgiError {
  const detail = err instanceof Error ? err.message : String(err);
  return new CgiError(
    ErrorCode.ERR_CGI_SPAWN,
    `cgi: spawn failed: ${scriptFilename}: ${detail}`,
    { scriptFilename },
    {
      cause: err,
    },
  );
}

function pipeOf<T>(value: T | null | undefined): T {
  if (value === null || value === undefined)
    throw new TypeError('exec: spawn returned a child without pipes or pid');
  return value;
}

/**
 * TERM now, KILL after the grace, to the whole process group (grandchildren included), unless
 * the run finished first. On KILL the pipes are closed too, so a process that left the group
 * (`setsid`) cannot hold the request open.
 */
class GroupKiller {
  readonly #pid: number;
  readonly #graceMs: number;
  readonly #pumps: readonly Pump[];
  #timer: NodeJS.Timeout | undefined;
  #finished = false;

  constructor(pid: number, graceMs: number, pumps: readonly Pump[]) {
    this.#pid = pid;
    this.#graceMs = graceMs;
    this.#pumps = pumps;
  }

  terminate(): void {
    if (this.#finished || this.#timer !== undefined) return;
    this.#signal('SIGTERM');
    this.#timer = setTimeout(() => {
      this.#signal('SIGKILL');
      for (const pump of this.#pumps) pump.stop();
    }, this.#graceMs);
  }

  /**
   * The run is over (the script exited and its stdout closed): with `killGroup`, SIGKILL what is
   * left in its group at once — the response is complete, so nothing is waited for, and a later
   * signal could meet a reused group id. Then no more signals.
   */
  finished(killGroup: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#timer);
    if (killGroup) this.#signal('SIGKILL');
  }

  #signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.#pid, signal);
    } catch {
      // ESRCH: the group is already gone. EPERM: a setuid script; nothing more we can do.
    }
  }
}
