// This file implements what a worker handle measures for the status page and the slow log, from
// the perspective of one worker: the CPU and memory of each request (PHP-FPM's `last request
// cpu`/`memory`, read from /proc only in pools that show them) and a stack sample of a slow
// request (python: the runner's running frames; node and handler: the JavaScript frames the
// worker's sampler thread sends, and the async resources the script waits on, asked over the
// control channel; exec: none).
import type { PoolConfig } from '../../config/schema.ts';
import { clean } from '../../log/access-line.ts';
import { samplesJsStack, type SupervisorMessage } from '../../worker/ipc.ts';
import { readRssBytes } from '../../worker/rss.ts';
import { samplePythonStack, type StackSample } from './python-stack.ts';
import { cpuPercent, measuresUsage, readCpuTicks, readRssBytesSync, type RequestUsage } from './request-usage.ts';

/** How long a node worker's event loop gets to answer a slow log's `stack-sample`, ms. */
const STACK_WAIT_MS = 500;
/**
 * How long the supervisor waits for a node worker's sampler thread's frames, ms: the thread's
 * clock starts a little after the supervisor's, then enables the debugger (tens of ms), and
 * waits up to 200 ms for a pause to land.
 */
const FRAMES_WAIT_MS = 3000;
/** Frames of a JavaScript stack kept (PHP-FPM's `request_slowlog_trace_depth` default). */
export const STACK_FRAMES_MAX = 20;

/** Per-request CPU and memory of one worker, when its pool shows them ({@link measuresUsage}). */
export class UsageMeter {
  readonly #measures: boolean;
  readonly #now: () => number;
  /** The worker and its persistent runtime leader (the python runner), whose CPU a request uses. */
  readonly #pids: () => number[];
  /** CPU ticks of the worker and its runtime leader when the running request started. */
  #startTicks = 0;
  /** When the running request was given to this worker (ms on the pool's clock). */
  #startMs = 0;

  /**
   * @param pids - the processes to read, asked only in pools that measure (no work otherwise);
   *   pids ≤ 1 (no runtime leader known) are left out
   */
  constructor(pool: PoolConfig, now: () => number, pids: () => number[]) {
    this.#measures = measuresUsage(pool);
    this.#now = now;
    this.#pids = () => pids().filter((pid) => pid > 1);
  }

  /** The worker became busy: its processes read now. */
  started(): void {
    if (!this.#measures) return;
    this.#startMs = this.#now();
    this.#startTicks = readCpuTicks(this.#pids());
  }

  /**
   * The worker's END_REQUEST came (it was busy with this request alone: with several channels, a
   * handler pool, the CPU over the busy stretch is charged to the request that ends it, as
   * PHP-FPM has one request per process). Wall time from the worker's start on it, not from the
   * queue: PHP-FPM's `last request cpu`.
   * @returns what the request used; undefined when the pool does not measure
   */
  ending(): RequestUsage | undefined {
    if (!this.#measures) return undefined;
    const pids = this.#pids();
    const ticks = readCpuTicks(pids) - this.#startTicks;
    return { cpuPercent: cpuPercent(ticks, this.#now() - this.#startMs), memoryBytes: readRssBytesSync(pids) };
  }
}

/** The sampler thread's frames as the supervisor keeps them (bounded, escaped). */
interface FramesSample {
  readonly lines: readonly string[];
  /** The main thread was paused (it ran JavaScript); false: it was idle in its event loop. */
  readonly paused: boolean;
}

/** Slow-log stack samples of one worker. */
export class StackSampler {
  readonly #pool: PoolConfig;
  readonly #send: (message: SupervisorMessage) => void;
  readonly #now: () => number;
  /** Samples waiting for a node worker's `stack` answer (its event loop's resources). */
  readonly #waiters = new Set<(resources: readonly string[]) => void>();
  /** Samples waiting for the sampler thread's frames. */
  readonly #frameWaiters = new Set<(frames: FramesSample) => void>();
  /** The thread's last frames, and when they came (they may come before the supervisor asks). */
  #lastFrames: { readonly atMs: number; readonly frames: FramesSample } | undefined;

  constructor(pool: PoolConfig, send: (message: SupervisorMessage) => void, now: () => number) {
    this.#pool = pool;
    this.#send = send;
    this.#now = now;
  }

  /**
   * A sample of the running script's stack; never rejects. Python: the runner's running frames
   * (python-stack.ts, `leader` is the runner's pid). Node and handler: the sampler thread's
   * JavaScript frames and the async resources the event loop waits on. Exec: none, and why.
   */
  async sample(leader: number): Promise<StackSample> {
    const runtime = this.#pool.runtime;
    if (runtime === 'exec') return { noStack: 'runtime exec: the CGI program is not sampled' };
    if (runtime !== 'python') return this.#nodeSample(runtime);
    if (leader <= 1) return { noStack: 'no python runner known' };
    return samplePythonStack(leader).catch((err: unknown) => ({ noStack: `stack sample failed: ${String(err)}` }));
  }

  /**
   * A worker's `stack` message (data: bounded, escaped): the main thread's `resources` (100
   * names of 100 characters), or the sampler thread's `frames` ({@link STACK_FRAMES_MAX}).
   */
  answered(message: unknown): void {
    const { resources, frames, paused } = (typeof message === 'object' && message !== null ? message : {}) as
      { resources?: unknown; frames?: unknown; paused?: unknown };
    if (frames !== undefined) {
      this.#framesCame({ lines: frameLines(frames), paused: paused === true });
      return;
    }
    const names = Array.isArray(resources) ? resources.slice(0, 100).map((r) => clean(String(r).slice(0, 100))) : [];
    for (const waiter of this.#waiters) waiter(names);
    this.#waiters.clear();
  }

  #framesCame(frames: FramesSample): void {
    this.#lastFrames = { atMs: this.#now(), frames };
    for (const waiter of this.#frameWaiters) waiter(frames);
    this.#frameWaiters.clear();
  }

  /**
   * The sampler thread's frames for the request being logged: ones that came less than
   * `request_slowlog_timeout` ago (the thread's clock started at the worker's run, a little
   * after the supervisor's; an earlier request's frames are older than that), else the next
   * ones, waiting at most {@link FRAMES_WAIT_MS}.
   */
  #frames(): Promise<FramesSample | undefined> {
    const last = this.#lastFrames;
    if (last !== undefined && this.#now() - last.atMs < this.#pool.requestSlowlogTimeoutMs) return Promise.resolve(last.frames);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#frameWaiters.delete(done);
        resolve(undefined);
      }, FRAMES_WAIT_MS);
      const done = (frames: FramesSample): void => {
        clearTimeout(timer);
        resolve(frames);
      };
      this.#frameWaiters.add(done);
    });
  }

  /** The resources the worker's event loop waits on; undefined when it did not answer (busy). */
  #resources(): Promise<readonly string[] | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(done);
        resolve(undefined);
      }, STACK_WAIT_MS);
      const done = (resources: readonly string[]): void => {
        clearTimeout(timer);
        resolve(resources);
      };
      this.#waiters.add(done);
      this.#send({ type: 'stack-sample' });
    });
  }

  /**
   * A node or handler worker's sample: the JavaScript frames from its sampler thread (when the
   * pool runs one), then what its event loop says: the resources the script waits on when it
   * answers within {@link STACK_WAIT_MS}, else that the script keeps it busy.
   */
  async #nodeSample(runtime: string): Promise<StackSample> {
    const sampled = samplesJsStack(this.#pool);
    const [frames, resources] = await Promise.all([sampled ? this.#frames() : undefined, this.#resources()]);
    const lines = frames?.lines ?? [];
    if (resources !== undefined) {
      const waits = resources.length > 0 ? resources.join(', ') : 'nothing';
      return { stack: [...lines, `(runtime ${runtime}: ${lines.length > 0 ? '' : 'no JS stack; '}the event loop is free, the script waits on: ${waits})`] };
    }
    if (lines.length > 0) {
      return { stack: [...lines, `(runtime ${runtime}: the event loop did not answer within ${STACK_WAIT_MS} ms: the script keeps it busy)`] };
    }
    const why = !sampled ? '' : frames === undefined
      ? `; the stack sampler sent nothing within ${FRAMES_WAIT_MS} ms`
      : "; the stack sampler found only the worker's own code running";
    return { noStack: `runtime ${runtime}: no JS stack; the worker's event loop did not answer within ${STACK_WAIT_MS} ms (the script keeps it busy)${why}` };
  }
}

/**
 * The sampler thread's `frames` as slow-log lines, innermost first: `name() /path:line:column`,
 * `(anonymous) /path:line:column` for a nameless function; at most {@link STACK_FRAMES_MAX},
 * names cut at 200 and paths at 500 characters, control bytes escaped (a worker's message is data).
 */
export function frameLines(frames: unknown): string[] {
  if (!Array.isArray(frames)) return [];
  return frames.slice(0, STACK_FRAMES_MAX).map((frame: unknown) => {
    const f = (typeof frame === 'object' && frame !== null ? frame : {}) as Record<string, unknown>;
    const name = clean((typeof f.function === 'string' ? f.function : '').slice(0, 200));
    const file = clean((typeof f.file === 'string' ? f.file : '').slice(0, 500));
    const at = `${file}:${String(Number(f.line) | 0)}:${String(Number(f.column) | 0)}`;
    return name === '' ? `(anonymous) ${at}` : `${name}() ${at}`;
  });
}

/** Resident memory of `pids` summed, bytes, from /proc; pids ≤ 1 are left out; never rejects (a process gone reads 0). */
export async function residentBytes(pids: readonly number[]): Promise<number> {
  const sizes = await Promise.all(pids.filter((pid) => pid > 1).map((pid) => readRssBytes(pid)));
  return sizes.reduce((a, b) => a + b, 0);
}
