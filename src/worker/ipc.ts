// This file implements the control messages between the supervisor and a worker, from the
// perspective of both ends: the shapes only. Requests never travel here (they go over the
// FastCGI channel on fd 3); this carries the pool's config once, readiness, and stop.
import type { PoolConfig } from '../config/schema.ts';

/** File descriptor of the FastCGI channel in a worker forked by the supervisor. */
export const CHANNEL_FD = 3;

/**
 * Number of FastCGI channels a worker of `pool` reads (fds 3…): `handler.concurrency` for a
 * handler pool, else 1 — CGI emulation is process-global, so one request at a time.
 */
export function channelCount(pool: PoolConfig): number {
  return pool.runtime === 'handler' ? pool.handler.concurrency : 1;
}

/** Supervisor → worker: the pool to serve (sent once, right after fork). */
export interface PoolMessage {
  readonly type: 'pool';
  readonly pool: PoolConfig;
  readonly logLevel: string;
  readonly pretty: boolean;
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

/** Every message the supervisor sends. */
export type SupervisorMessage = PoolMessage | StopMessage;
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
}

/**
 * Worker → supervisor: replace me after my request: `max_memory` (`pm.max_memory` passed:
 * resident memory `rssBytes`, the worker's own plus its python child's) or `state` (a script
 * changed what the runtime cannot put back; `detail` says what, and the worker logged it).
 */
export interface RecycleMessage {
  readonly type: 'recycle';
  readonly reason: 'max_memory' | 'state';
  readonly rssBytes: number;
  readonly detail?: string;
}

/** Every message a worker sends. */
export type WorkerMessage = ReadyMessage | StartFailedMessage | CgiGroupMessage | RecycleMessage;

/** Narrows an untrusted IPC payload to a message with a string `type`. */
export function hasType(value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
