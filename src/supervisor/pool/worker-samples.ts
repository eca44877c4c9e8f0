// This file implements what a worker handle measures for the status page and the slow log, from
// the perspective of one worker: the CPU and memory of each request (PHP-FPM's `last request
// cpu`/`memory`, read from /proc only in pools that show them) and a stack sample of a slow
// request (python: the runner's running frames; node and handler: the async resources the
// script waits on, asked over the control channel; exec: none).
import type { PoolConfig, Runtime } from '../../config/schema.ts';
import { clean } from '../../log/access-line.ts';
import type { SupervisorMessage } from '../../worker/ipc.ts';
import { readRssBytes } from '../../worker/rss.ts';
import { samplePythonStack, type StackSample } from './python-stack.ts';
import { cpuPercent, measuresUsage, readCpuTicks, readRssBytesSync, type RequestUsage } from './request-usage.ts';

/** How long a node worker's event loop gets to answer a slow log's `stack-sample`, ms. */
const STACK_WAIT_MS = 500;

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

/** Slow-log stack samples of one worker. */
export class StackSampler {
  readonly #runtime: Runtime;
  readonly #send: (message: SupervisorMessage) => void;
  /** Samples waiting for a node worker's `stack` answer. */
  readonly #waiters = new Set<(resources: readonly string[]) => void>();

  constructor(runtime: Runtime, send: (message: SupervisorMessage) => void) {
    this.#runtime = runtime;
    this.#send = send;
  }

  /**
   * A sample of the running script's stack; never rejects. Python: the runner's running frames
   * (python-stack.ts, `leader` is the runner's pid). Other runtimes: none, and why.
   */
  async sample(leader: number): Promise<StackSample> {
    const runtime = this.#runtime;
    if (runtime === 'exec') return { noStack: 'runtime exec: the CGI program is not sampled' };
    if (runtime !== 'python') return this.#nodeSample(runtime);
    if (leader <= 1) return { noStack: 'no python runner known' };
    return samplePythonStack(leader).catch((err: unknown) => ({ noStack: `stack sample failed: ${String(err)}` }));
  }

  /** The worker's `stack` message: its resources, bounded (100 names of 100 characters), escaped. */
  answered(resources: unknown): void {
    const names = Array.isArray(resources) ? resources.slice(0, 100).map((r) => clean(String(r).slice(0, 100))) : [];
    for (const waiter of this.#waiters) waiter(names);
    this.#waiters.clear();
  }

  /**
   * A node worker's answer to `stack-sample`: no JS stack (its main thread cannot sample itself
   * while busy), but the async resources the script waits on, when its event loop is free.
   */
  #nodeSample(runtime: string): Promise<StackSample> {
    const busy = { noStack: `runtime ${runtime}: no JS stack; the worker's event loop did not answer within ${STACK_WAIT_MS} ms (the script keeps it busy)` };
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(done);
        resolve(busy);
      }, STACK_WAIT_MS);
      const done = (resources: readonly string[]): void => {
        clearTimeout(timer);
        resolve({ stack: [
          `(runtime ${runtime}: no JS stack; the event loop is free, the script waits on: ${resources.length > 0 ? resources.join(', ') : 'nothing'})`,
        ] });
      };
      this.#waiters.add(done);
      this.#send({ type: 'stack-sample' });
    });
  }
}

/** Resident memory of `pids` summed, bytes, from /proc; pids ≤ 1 are left out; never rejects (a process gone reads 0). */
export async function residentBytes(pids: readonly number[]): Promise<number> {
  const sizes = await Promise.all(pids.filter((pid) => pid > 1).map((pid) => readRssBytes(pid)));
  return sizes.reduce((a, b) => a + b, 0);
}
