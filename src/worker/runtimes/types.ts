// This file implements the contract between the worker's request loop and a runtime, from the
// perspective of a runtime: what it gets for one request and what it answers when done
// (docs/INTERFACES.md, "worker/runtimes").
import type { Stats } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { CgiEnvironment, ParamSource } from '../../cgi/environment.ts';
import type { CgiHead } from '../../cgi/response.ts';

/** Everything a runtime needs to run one CGI request. */
export interface RuntimeRequest {
  /**
   * Real path of the script, already resolved and contained in the pool's root, as text
   * (UTF-8; a byte that is not UTF-8 reads U+FFFD): for runtimes whose API takes a string.
   */
  scriptFilename: string;
  /**
   * The same path as the file system names it (bytes): what `exec` runs. Absent: the UTF-8
   * bytes of `scriptFilename`.
   */
  scriptPath?: Buffer;
  /**
   * The script, opened by the worker and checked to be the resolved file (`script-file.ts`):
   * `exec` executes through it and `node` reads it, so a path swapped after the check cannot
   * change what runs. Owned by the worker (closed after the run). Absent: use the path.
   */
  scriptFd?: number | undefined;
  /**
   * What `fstat(scriptFd)` says of it this request: taken when it was opened and checked, or, for
   * a descriptor kept from an earlier request, equal to the `stat` of the path that let it be
   * reused (device, inode, size, mtime, ctime: `script-descriptors.ts`). Lets `node` know the
   * version of the file without another system call. Absent: `fstat` it.
   */
  scriptStats?: Stats | undefined;
  /** Working directory of the run: the script's directory (text). @see RFC 3875 §7.2 */
  cwd: string;
  /**
   * The complete CGI environment as text (from `buildEnvironment`, bytes decoded as UTF-8): for
   * runtimes whose API takes strings (`process.env`, a JSON frame).
   * @see RFC 3875 §4.1
   */
  env: Record<string, string>;
  /**
   * The same environment with the request's values as the bytes the web server sent (what
   * `exec` hands to execve). Absent: `env`.
   */
  environment?: CgiEnvironment;
  /**
   * The same variables read one by one (`requestVariables`): for a runtime that reads a few of
   * them (the handler rebuilds the HTTP request) without the whole environment being built.
   * Absent: read `environment` (or `env`).
   */
  requestVariables?: ParamSource;
  /**
   * Hands over the response head structured (a runtime that builds one, as the handler
   * runtime does): `stdout` then carries the body only. Absent: write the head into `stdout`.
   * @throws TypeError for a head that cannot be written as CGI (see `encodeCgiHead`)
   */
  respond?: (head: CgiHead) => void;
  /** The request body as it arrives. @see RFC 3875 §4.2 */
  stdin: Readable;
  /** Raw CGI output (head + body); the caller parses the head. @see RFC 3875 §6 */
  stdout: Writable;
  /** Called once per line the script writes to stderr (line ending removed). */
  onStderrLine: (line: string) => void;
  /** Aborted on timeout or client abort: stop the script (TERM, then KILL). */
  signal: AbortSignal;
  /**
   * True once the run was aborted, read without making `signal` (the worker makes it on first
   * read). Absent: read `signal.aborted` (see {@link runAborted}).
   */
  readonly aborted?: boolean;
  /**
   * Calls `listener` once when the run is aborted (at once if it was): lighter than a listener
   * on `signal` for code that runs on every request. Absent: listen on `signal` (see
   * {@link onRunAbort}).
   * @returns the function that removes the listener
   */
  onAbort?: (listener: () => void) => () => void;
  /**
   * Called with the pid of a child process group the runtime started for this request, so
   * the supervisor can kill it should the worker itself die.
   */
  onSpawn?: (pid: number) => void;
}

/** How a script run ended. */
export interface RuntimeResult {
  /** Exit status when the script exited by itself, else `null`. */
  exitCode: number | null;
  /** The signal that ended the script, else `null`. */
  signal: NodeJS.Signals | null;
}

/**
 * Runs one request. Resolves once the script ended and its output was handed to
 * `req.stdout`; rejects with `CgiError` (`ERR_CGI_SPAWN`) when it could not start.
 */
export type Runtime = (req: RuntimeRequest) => Promise<RuntimeResult>;

/** A pool's runtime loaded in one worker: started once, run per request, closed on exit. */
export interface RuntimeHost {
  /** Runs one request (see {@link Runtime}); a persistent runtime recovers by itself after a failed run. */
  readonly run: Runtime;
  /** Releases what the runtime holds (a python child, timers); the worker then exits. */
  close(): Promise<void>;
  /** Resident memory of a child process the runtime keeps (python), for `pm.max_memory`. */
  childRssBytes?(): Promise<number>;
  /**
   * Called by the worker right after a request's END_REQUEST was written, before it waits for
   * the next request: work the runtime put off until the response was out (`node`: the
   * comparison of every built-in value), done then without a turn of the event loop of its own,
   * while the supervisor handles the END_REQUEST. A worker that does not call it loses nothing:
   * the runtime then does that work on the next turn, or before its next run.
   */
  afterEnd?(): void;
}

/** True once `req` was aborted, without making its `signal` when the worker can say. */
export function runAborted(req: RuntimeRequest): boolean {
  return req.aborted ?? req.signal.aborted;
}

/**
 * Calls `listener` once when `req` is aborted (at once if it was), through `req.onAbort` when
 * there is one, else a listener on `req.signal`.
 * @returns the function that removes the listener
 */
export function onRunAbort(req: RuntimeRequest, listener: () => void): () => void {
  if (req.onAbort !== undefined) return req.onAbort(listener);
  const { signal } = req;
  if (signal.aborted) {
    listener();
    return () => undefined;
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => {
    signal.removeEventListener('abort', listener);
  };
}
