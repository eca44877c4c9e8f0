// This file implements the control messages between the supervisor and a worker, from the
// perspective of both ends: the shapes only (`control-channel.ts` carries them, one JSON line
// each). Requests never travel here (they go over the FastCGI channel on fd 3); this carries the
// pool's config once, readiness, and stop. What a worker sends is data, never an order: a script
// of a `node` or `handler` pool runs inside the worker and can write to the channel.
import type { PoolConfig } from '../config/schema.ts';
import { scriptGlobs, type ScriptGlob } from '../cgi/script-globs.ts';
import type { JsFrame } from './runtimes/node/call-frames.ts';

/** File descriptor of the FastCGI channel in a worker forked by the supervisor. */
export const CHANNEL_FD = 3;

/**
 * The `protocolStatus` of an FCGI_END_REQUEST on a worker channel (never sent to a web server)
 * for a request whose response is incomplete: its runtime died after the head went out. The
 * supervisor closes the web server's connection without an END_REQUEST, so nginx logs an
 * upstream error instead of passing a truncated 200 (issue 10, item 7). FastCGI 1.0 §5.5
 * defines 0-3; this private value stays between the supervisor and its workers.
 */
export const CHANNEL_REQUEST_FAILED = 0xff;

/**
 * Number of FastCGI channels a worker of `pool` reads (fds 3…): `handler.concurrency` for a
 * handler pool, else 1 — CGI emulation is process-global, so one request at a time.
 */
export function channelCount(pool: PoolConfig): number {
  if (pool.dispatch === 'direct') return 0;
  return pool.runtime === 'handler' ? pool.handler.concurrency : 1;
}

/**
 * File descriptor of the pool's listening socket in a worker of a `dispatch = "direct"` pool:
 * the one after its control channel (it has no FastCGI channel). The worker accepts on it.
 */
export function listenFd(pool: PoolConfig): number {
  return controlFd(pool) + 1;
}

/**
 * True when workers of `pool` run the slow-log JavaScript stack sampler thread
 * (`runtimes/node/stack-sampler.ts`): node and handler pools with `request_slowlog_timeout`,
 * `slowlog` and `slowlog_stack`. Its samples come as {@link StackMessage}s with `frames`.
 */
export function samplesJsStack(pool: PoolConfig): boolean {
  return (pool.runtime === 'node' || pool.runtime === 'handler') && pool.slowlogStack
    && pool.requestSlowlogTimeoutMs > 0 && pool.slowlog !== undefined;
}

/**
 * File descriptor of the control channel in a worker forked by the supervisor: the one after
 * its FastCGI channels (the supervisor passes it as the worker's first argument too, since the
 * worker learns its pool only from this channel).
 */
export function controlFd(pool: PoolConfig): number {
  return CHANNEL_FD + channelCount(pool);
}

/**
 * The pool as its worker receives it: its config, plus what a worker that is not Node cannot
 * compute itself: `scriptGlobs`, picomatch's expression of each `match` glob in python's `re`
 * dialect (`cgi/script-globs.ts`), for the python worker's own script resolution.
 */
export type WorkerPoolConfig = PoolConfig & { readonly scriptGlobs?: readonly ScriptGlob[] };

/**
 * The pool a {@link PoolMessage} carries: `pool` with `scriptGlobs` (one per `match` glob, in
 * order) for every runtime whose scripts are files; a `handler` pool as it is.
 */
export function workerPool(pool: PoolConfig): WorkerPoolConfig {
  return pool.runtime === 'handler' ? pool : { ...pool, scriptGlobs: scriptGlobs(pool.match) };
}

/** Supervisor → worker: the pool to serve (sent once, right after fork). */
export interface PoolMessage {
  readonly type: 'pool';
  readonly pool: WorkerPoolConfig;
  readonly logLevel: string;
  readonly pretty: boolean;
  /**
   * `dispatch = "direct"`: this worker's `pm.max_requests` (the pool's, with the supervisor's
   * jitter); it counts its requests itself. 0 or absent: none.
   */
  readonly maxRequests?: number;
  /**
   * `dispatch = "direct"`: `[global] fastcgi_temp_path`, where the worker spills the output it
   * holds until a request's body has ended; absent: the system's temporary directory.
   */
  readonly tempPath?: string;
}

/** Supervisor → worker: finish the request in flight (if any), then exit 0. */
export interface StopMessage {
  readonly type: 'stop';
}

/** Worker → supervisor: the runtime is loaded and the channel is being read. */
export interface ReadyMessage {
  readonly type: 'ready';
}

/** Worker → supervisor: the worker could not start; `message` names the cause. */
export interface StartFailedMessage {
  readonly type: 'start-failed';
  readonly message: string;
}

/**
 * Supervisor → worker (node, handler): a request passed `request_slowlog_timeout`; answer
 * with a {@link StackMessage} when the event loop is free (a script in a loop never answers).
 */
export interface StackSampleMessage {
  readonly type: 'stack-sample';
}

/**
 * Supervisor → worker of a `dispatch = "direct"` pool: the heartbeat's query (PHP-FPM's
 * scoreboard read); answered with a {@link StateMessage} when the event loop is free.
 */
export interface StateQueryMessage {
  readonly type: 'state';
}

/** Every message the supervisor sends. */
export type SupervisorMessage = PoolMessage | StopMessage | StackSampleMessage | StateQueryMessage;

/** One request a direct worker runs now, as its {@link StateMessage} tells it. */
export interface ActiveRequestState {
  /** How long it has run, in ms. */
  readonly elapsedMs: number;
  readonly method: string;
  readonly uri: string;
  readonly script: string;
}

/**
 * Worker → supervisor (`dispatch = "direct"`): the answer to a {@link StateQueryMessage}, its
 * counters since it started: `accepted` connections, `requests` ended, the requests running
 * now, and the last one that ended (`lastDurationMs` long). Data, never an order: the supervisor
 * bounds what it reads (direct-watch.ts).
 */
export interface StateMessage {
  readonly type: 'state';
  readonly accepted: number;
  readonly requests: number;
  readonly active: readonly ActiveRequestState[];
  readonly last?: { readonly method: string; readonly uri: string; readonly script: string; readonly durationMs: number };
}

/**
 * Worker → supervisor: what a node or handler worker can tell about the script it runs. From
 * the main thread, answering a {@link StackSampleMessage} when its event loop is free:
 * `resources`, the async resources it waits on (`process.getActiveResourcesInfo()`, the
 * worker's own left out). From the sampler thread, unasked, when a request passed
 * `request_slowlog_timeout` ({@link samplesJsStack}): `frames`, the main thread's JavaScript
 * stack (innermost first, at most 20; the worker's own outer frames cut, `omitted` says how
 * many), or none with `paused: false` when it ran no JavaScript (waiting); `elapsedMs`, how long
 * the oldest running request had run in the worker; `requests`, how many ran.
 */
export interface StackMessage {
  readonly type: 'stack';
  readonly resources?: readonly string[];
  readonly frames?: readonly JsFrame[];
  readonly omitted?: number;
  readonly paused?: boolean;
  readonly elapsedMs?: number;
  readonly requests?: number;
}
/**
 * Worker → supervisor: request `requestId` (the channel's id) started a CGI child in its own
 * process group `pgid`. Should the worker die, the supervisor kills that group, so no CGI
 * child outlives its worker.
 */
export interface CgiGroupMessage {
  readonly type: 'cgi-group';
  readonly requestId: number;
  readonly pgid: number;
  /** The group outlives the request (a python runner): kill it whenever the worker dies. */
  readonly persistent: boolean;
  /**
   * `"worker"`: every script of this worker runs in this group, for the worker's life (the python
   * `exec` worker names it once, with `requestId` 0, instead of one group per request).
   */
  readonly scope?: 'worker';
}

/**
 * Worker → supervisor: replace me after my request: `max_memory` (`pm.max_memory` passed:
 * resident memory `rssBytes`, the worker's own plus its python child's) or `state` (a script
 * changed what the runtime cannot put back; `detail` says what, and the worker logged it).
 */
export interface RecycleMessage {
  readonly type: 'recycle';
  readonly reason: 'max_memory' | 'state' | 'max_requests';
  readonly rssBytes: number;
  readonly detail?: string;
}

/** Every message a worker sends. */
export type WorkerMessage = ReadyMessage | StartFailedMessage | CgiGroupMessage | RecycleMessage | StackMessage | StateMessage;

/** Narrows an untrusted IPC payload to a message with a string `type`. */
export function hasType(value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
