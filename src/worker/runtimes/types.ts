// This file implements the contract between the worker's request loop and a runtime, from the
// perspective of a runtime: what it gets for one request and what it answers when done
// (docs/INTERFACES.md, "worker/runtimes").
import type { Readable, Writable } from 'node:stream';

/** Everything a runtime needs to run one CGI request. */
export interface RuntimeRequest {
  /** Real path of the script, already resolved and contained in the pool's root. */
  scriptFilename: string;
  /** Working directory of the run: the script's directory. @see RFC 3875 §7.2 */
  cwd: string;
  /** The complete CGI environment (from `buildEnvironment`). @see RFC 3875 §4.1 */
  env: Record<string, string>;
  /** The request body as it arrives. @see RFC 3875 §4.2 */
  stdin: Readable;
  /** Raw CGI output (head + body); the caller parses the head. @see RFC 3875 §6 */
  stdout: Writable;
  /** Called once per line the script writes to stderr (line ending removed). */
  onStderrLine: (line: string) => void;
  /** Aborted on timeout or client abort: stop the script (TERM, then KILL). */
  signal: AbortSignal;
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
}
