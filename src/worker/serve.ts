// This file implements a worker's request loop from the perspective of one FastCGI request:
// resolve the script when no supervisor did (standalone worker), build the CGI environment,
// run the pool's runtime with the body streaming in and the output streaming out through the
// CGI head check, enforce `request_terminate_timeout`, answer 403/404 (refused script), 502 /
// 504 when no header went out, and log one line per request.
import { dirname } from 'node:path';
import type { PoolConfig } from '../config/schema.ts';
import type { EnvironmentOptions } from '../cgi/environment.ts';
import { DaemonError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { CgiOutput } from './cgi-output.ts';
import { RunRequest } from './run-request.ts';
import { spawnFailure } from './spawn-failure.ts';
import { errorPage } from '../cgi/error-page.ts';
import type { FcgiRequest } from './fcgi-connection.ts';
import type { Runtime, RuntimeRequest, RuntimeResult } from './runtimes/types.ts';
import type { ScriptResolution } from '../cgi/script.ts';
import type { ScriptParams } from './resolve.ts';
import { SERVER_SOFTWARE } from '../version.ts';
import { closeSync } from 'node:fs';
import type { OpenedScript, ScriptMismatch, ScriptUse } from './script-file.ts';
import { Deadline } from '../deadline.ts';
import { RunAbort } from './run-abort.ts';

/** What a request server needs besides its pool. */
export interface ServeDeps {
  readonly log: Logger;
  /** The worker's own environment, seen by scripts when `clear_env = false`. */
  readonly inherited: Readonly<Record<string, string | undefined>>;
  readonly now: () => number;
  /** Called after each request ended (its END_REQUEST sent): the worker checks its memory. */
  readonly afterRequest?: () => void;
  /** Told of each CGI process group a request starts (sent on to the supervisor). */
  readonly onCgiGroup?: (requestId: number, pgid: number) => void;
  /** Runs each request (the pool's loaded runtime). */
  readonly runtime: Runtime;
  /**
   * The END_REQUEST protocol status for a response cut short after its head (the runtime or the
   * script was killed by a signal): the supervised worker's `CHANNEL_REQUEST_FAILED`, on which the supervisor
   * closes the web server's connection without an END_REQUEST. Absent (standalone): the request
   * ends normally, as before.
   */
  readonly failedProtocolStatus?: number;
  /**
   * Resolves each request's script before the runtime runs (`resolvePoolScript`): a standalone
   * worker has no supervisor to do it. A refusal is answered here (403/404, logged as the
   * supervisor logs it). Absent: `SCRIPT_FILENAME`/`PATH_INFO` arrive resolved.
   */
  readonly resolve?: (params: ScriptParams) => Promise<ScriptResolution>;
  /**
   * Opens the script and checks it is the file that was resolved (`openScript`): the runtime
   * then reads or executes the descriptor, not the path (issue 10: swap races). Absent: the
   * runtimes open the path (unit tests with made-up paths). A descriptor marked `kept` stays
   * open after the request (`ScriptDescriptors`).
   */
  readonly openScript?: (path: Buffer, use: ScriptUse) => OpenedScript | ScriptMismatch;
}

/** The script a request runs and, when resolved here, its path-info (RFC 3875 §4.1.5), as bytes. */
interface Script {
  readonly scriptFilename: Buffer;
  readonly pathInfo?: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** How one request ended, for the log line. */
interface Outcome {
  status: number;
  event: string | undefined;
  fields: Record<string, unknown>;
  /** The head went out but the response is incomplete (killed by a signal). */
  failed?: boolean;
}

/** Serves requests of one pool, one at a time. */
export class RequestServer {
  private readonly pool: PoolConfig;
  private readonly deps: ServeDeps;
  private readonly runtime: Runtime;
  private current: RunAbort | undefined;
  private onIdle: (() => void)[] = [];
  /**
   * `request_terminate_timeout` of the request in flight: one timer kept across requests
   * (deadline.ts), not a `setTimeout` and a `clearTimeout` per request. Unref'd: a request
   * running keeps the worker alive by its channel.
   */
  private readonly terminate = new Deadline(() => {
    this.timedOut = true;
    this.current?.abort();
  }, { unref: true });
  /** The request in flight passed `request_terminate_timeout`. */
  private timedOut = false;

  constructor(pool: PoolConfig, deps: ServeDeps) {
    this.pool = pool;
    this.deps = deps;
    this.runtime = deps.runtime;
  }

  /** Handles one request (bound, so it can be an event listener). */
  readonly handle = (req: FcgiRequest): void => {
    void this.serve(req);
  };

  /** Calls `callback` now if idle, else once the request in flight has ended (each caller's). */
  stopWhenIdle(callback: () => void): void {
    if (this.current === undefined) callback();
    else this.onIdle.push(callback);
  }


  /** Stops the script of the request in flight (the supervisor, or mod_fcgid, is gone). */
  abortAll(): void {
    this.current?.abort(new Error('worker: parent gone'));
  }

  private async serve(req: FcgiRequest): Promise<void> {
    const startedMs = this.deps.now();
    const controller = new RunAbort();
    this.current = controller;
    const script = await this.script(req);
    if (!('scriptFilename' in script)) {
      this.finish(req, script, (req.pairs.get('SCRIPT_FILENAME') ?? EMPTY).toString(), undefined, startedMs);
      return;
    }
    const scriptText = script.scriptFilename.toString();
    const opened = this.open(script.scriptFilename);
    if (opened !== undefined && !('fd' in opened)) {
      this.deps.log.warn({ script: scriptText, reason: opened.reason }, 'script refused');
      this.finish(req, { status: opened.status, event: undefined, fields: {} }, scriptText, undefined, startedMs);
      return;
    }
    this.timedOut = false;
    const limitMs = this.pool.requestTerminateTimeoutMs;
    if (limitMs > 0) this.terminate.after(limitMs);
    const stopListening = req.onAbort(() => { controller.abort(); });
    const output = new CgiOutput(req.stdout, { scriptFilename: scriptText });
    let outcome: Outcome;
    try {
      const run = this.runtimeRequest(req, script, scriptText, output, controller, opened);
      const result = await this.runtime(run);
      outcome = await this.conclude(output, result, this.timedOut, req.aborted);
    } catch (err) {
      outcome = spawnFailure(err, this.pool);
    } finally {
      this.terminate.withdraw();
      stopListening();
      if (opened !== undefined && opened.kept !== true) closeSync(opened.fd);
    }
    this.finish(req, outcome, scriptText, output, startedMs);
  }

  /** The script opened and checked, for the runtimes that run a file (not `handler`). */
  private open(path: Buffer): OpenedScript | ScriptMismatch | undefined {
    const open = this.deps.openScript;
    if (open === undefined || this.pool.runtime === 'handler') return undefined;
    return open(path, this.pool.runtime === 'exec' ? 'execute' : 'read');
  }

  /** What the runtime gets: the script and environment as bytes, and their text for runtimes that want text. */
  private runtimeRequest(
    req: FcgiRequest, script: Script, scriptText: string, output: CgiOutput, abort: RunAbort, opened: OpenedScript | undefined,
  ): RuntimeRequest {
    return new RunRequest({
      scriptFd: opened?.fd, scriptStats: opened?.stats,
      scriptFilename: scriptText, scriptPath: script.scriptFilename, cwd: dirname(scriptText),
      params: req.pairs, environmentOptions: this.environmentOptions(script), input: req, stdout: output, abort,
      onStderrLine: (line) => { this.stderr(req, scriptText, line); },
      onSpawn: (pgid) => { this.deps.onCgiGroup?.(req.requestId, pgid); },
    });
  }

  /**
   * The script to run: as sent when the supervisor resolved it, else resolved here; a refusal
   * becomes the outcome to answer with (its event logged as the supervisor's router does).
   */
  private async script(req: FcgiRequest): Promise<Script | Outcome> {
    const sent = req.pairs.get('SCRIPT_FILENAME') ?? EMPTY;
    const resolve = this.deps.resolve;
    if (resolve === undefined) return { scriptFilename: sent };
    let result: ScriptResolution;
    try {
      result = await resolve(req.pairs);
    } catch (err) {
      this.deps.log.error({ err, script: sent.toString() }, 'script refused');
      return { status: 403, event: undefined, fields: {} };
    }
    if (result.ok) return { scriptFilename: result.scriptFilename, pathInfo: result.pathInfo };
    this.deps.log.warn({ script: sent.toString(), reason: result.reason }, result.event);
    return { status: result.status, event: undefined, fields: {} };
  }

  /** Sends the error page when no header went out, logs, ends the request, and goes idle. */
  private finish(req: FcgiRequest, outcome: Outcome, script: string, output: CgiOutput | undefined, startedMs: number): void {
    let bytes = output?.bytes ?? 0;
    if (output?.headersSent !== true && !req.aborted) {
      const page = errorPage(outcome.status);
      req.stdout.write(page);
      bytes = page.length;
    }
    this.log(outcome, script, bytes, this.deps.now() - startedMs, req.aborted);
    const failedStatus = this.deps.failedProtocolStatus;
    if (outcome.failed === true && failedStatus !== undefined) req.end(0, failedStatus);
    else req.end(0);
    this.current = undefined;
    this.deps.afterRequest?.();
    const onIdle = this.onIdle;
    this.onIdle = [];
    for (const callback of onIdle) callback();
  }

  /** @param aborted - the web server gave up on the request (its script was stopped on purpose) */
  private async conclude(output: CgiOutput, result: RuntimeResult, timedOut: boolean, aborted: boolean): Promise<Outcome> {
    const exit = { exitCode: result.exitCode, signal: result.signal };
    try {
      const head = await output.finish(exit);
      if (timedOut) return { status: head.status, event: 'request timeout', fields: { ...exit, truncated: true } };
      // Killed by a signal after its head (a python runner killed, a script crashed): the
      // response is cut short, and the supervisor must not end it as if it were whole (issue
      // 10.7). An exit, whatever its status, ends a CGI response where the script left it.
      if (!aborted && result.signal !== null) {
        return { status: head.status, event: 'response incomplete', fields: exit, failed: true };
      }
      return { status: head.status, event: undefined, fields: exit };
    } catch (err) {
      if (timedOut) return { status: 504, event: 'request timeout', fields: exit };
      const code = err instanceof DaemonError ? err.code : undefined;
      return { status: 502, event: 'no cgi headers', fields: { ...exit, code, err: (err as Error).message } };
    }
  }

  private environmentOptions(script: Script): EnvironmentOptions {
    return {
      env: this.pool.env, clearEnv: this.pool.clearEnv, inherited: this.deps.inherited,
      serverSoftware: SERVER_SOFTWARE, scriptFilename: script.scriptFilename,
      ...(script.pathInfo === undefined ? {} : { pathInfo: script.pathInfo }),
    };
  }

  private stderr(req: FcgiRequest, script: string, line: string): void {
    this.deps.log.warn({ script, line }, 'cgi stderr');
    if (this.pool.stderr === 'forward') req.writeStderr(`${line}\n`);
  }

  private log(outcome: Outcome, script: string, bytes: number, ms: number, aborted: boolean): void {
    const { log } = this.deps;
    if (outcome.event !== undefined) log.error({ script, elapsedMs: ms, ...outcome.fields }, outcome.event);
    // An incomplete response logs status "failed" (the head's status kept as httpStatus).
    if (!log.isLevelEnabled('info')) return;
    const status = outcome.failed === true ? { status: 'failed', httpStatus: outcome.status } : { status: outcome.status };
    log.info({ script, ...status, bytes, ms, aborted: aborted || undefined }, 'request');
  }
}
