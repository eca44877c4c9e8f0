// This file implements the shared memory between a worker's main thread and its slow-log stack
// sampler thread, from the perspective of both: what the thread is given, and the cells both
// read and write with `Atomics` (stack-sampler.ts on the main thread, stack-thread.ts).

/** What the main thread gives the thread (stack-sampler.ts builds it). */
export interface StackThreadData {
  /** The control channel's descriptor (the thread writes whole lines to it, under the lock). */
  readonly fd: number;
  /** `[LOCK, WAKE, PARKED, STOP]` (Int32), see stack-sampler.ts. */
  readonly control: SharedArrayBuffer;
  /** Per channel: a sequence number, odd while a request runs (Int32). */
  readonly seq: SharedArrayBuffer;
  /** Per channel: the running request's start, `process.hrtime.bigint()` ns (BigInt64). */
  readonly startNs: SharedArrayBuffer;
  readonly timeoutMs: number;
  /** Frames kept, innermost first (PHP-FPM's `request_slowlog_trace_depth` default: 20). */
  readonly depth: number;
  /** The worker's own code's directory (its outer frames are left out). */
  readonly ownRoot: string;
}

/** Cells of `control`: the control-fd write lock, the wake counter, the thread sleeps, stop. */
export const LOCK = 0;
export const WAKE = 1;
export const PARKED = 2;
export const STOP = 3;
/** Lock values: free, held by the main thread, held by this thread. */
export const FREE = 0;
export const MAIN = 1;
export const THREAD = 2;

