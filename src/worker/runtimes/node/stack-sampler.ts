// This file implements the main thread's side of the slow-log JavaScript stack sampler of a node
// or handler worker (stack-thread.ts is the thread): it starts the thread, marks each request's
// start and end in shared memory (two atomic writes; the thread is woken only when it sleeps
// with nothing to time), and serializes the worker's writes to the control channel with the
// thread's through one lock, so each line on the fd is whole.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FREE, LOCK, MAIN, PARKED, STOP, THREAD, WAKE, type StackThreadData } from './stack-thread-layout.ts';

/** PHP-FPM's `request_slowlog_trace_depth` default: frames kept, innermost first. */
export const STACK_DEPTH = 20;
/** How long the thread may take to start (a fresh isolate and an inspector session), ms. */
const START_TIMEOUT_MS = 10_000;

/** What {@link JsStackSampler.start} needs. */
export interface JsStackSamplerOptions {
  /** The control channel's descriptor, written by both threads under the lock. */
  readonly fd: number;
  /** Requests the worker runs at once (its FastCGI channels). */
  readonly slots: number;
  /** `request_slowlog_timeout`, ms (> 0). */
  readonly timeoutMs: number;
  /** The thread's module; default `stack-thread.js` next to this file. */
  readonly entry?: URL;
  /** Outer frames of files under it are the worker's own; default: this build's root. */
  readonly ownRoot?: string;
}

/** The worker's own code's directory (dist/ or src/): three levels above this file. */
const OWN_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The sampler thread of one worker, and the control-channel write lock it shares. */
export class JsStackSampler {
  readonly #thread: Worker;
  readonly #control: Int32Array;
  readonly #seq: Int32Array;
  readonly #startNs: BigInt64Array;
  /** Writes of the main thread waiting for the lock, in order. */
  readonly #queue: (() => void)[] = [];
  #held = false;
  /** A retry of {@link #drain} is scheduled. */
  #retrying = false;

  private constructor(thread: Worker, data: StackThreadData) {
    this.#thread = thread;
    this.#control = new Int32Array(data.control);
    this.#seq = new Int32Array(data.seq);
    this.#startNs = new BigInt64Array(data.startNs);
  }

  /**
   * Starts the thread; resolves once its inspector session is connected to this thread.
   * @throws Error when the thread fails to start (an inspector-less Node build, no memory)
   */
  static async start(options: JsStackSamplerOptions): Promise<JsStackSampler> {
    const data: StackThreadData = {
      fd: options.fd,
      control: new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT),
      seq: new SharedArrayBuffer(options.slots * Int32Array.BYTES_PER_ELEMENT),
      startNs: new SharedArrayBuffer(options.slots * BigInt64Array.BYTES_PER_ELEMENT),
      timeoutMs: options.timeoutMs,
      depth: STACK_DEPTH,
      ownRoot: options.ownRoot ?? OWN_ROOT,
    };
    const thread = new Worker(options.entry ?? new URL('./stack-thread.js', import.meta.url), {
      workerData: data, stdout: false, stderr: false, env: {}, argv: [], execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { fail(new Error(`stack sampler: no start within ${String(START_TIMEOUT_MS)} ms`)); }, START_TIMEOUT_MS);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        void thread.terminate();
        reject(err);
      };
      thread.once('error', fail);
      thread.once('exit', (code) => { fail(new Error(`stack sampler: thread exited with ${String(code)}`)); });
      thread.once('message', () => {
        clearTimeout(timer);
        thread.removeAllListeners();
        resolve();
      });
    });
    // From now on the thread's failures are its own: the worker serves on, without JS stacks.
    thread.on('error', () => undefined);
    thread.unref();
    const sampler = new JsStackSampler(thread, data);
    // A thread that died holding the lock (out of memory mid-write) must not stop the worker's
    // own messages: the lock is freed (at worst the supervisor gets a cut line and this worker).
    thread.on('exit', () => { sampler.#threadGone(); });
    return sampler;
  }

  /** `run` with channel `slot`'s requests marked for the thread (start, end). */
  track<A, R>(slot: number, run: (arg: A) => Promise<R>): (arg: A) => Promise<R> {
    return (arg: A) => {
      this.#begin(slot);
      return run(arg).finally(() => { this.#end(slot); });
    };
  }

  #begin(slot: number): void {
    Atomics.store(this.#startNs, slot, process.hrtime.bigint());
    if ((Atomics.load(this.#seq, slot) & 1) === 0) Atomics.add(this.#seq, slot, 1);
    Atomics.add(this.#control, WAKE, 1);
    if (Atomics.load(this.#control, PARKED) === 1) Atomics.notify(this.#control, WAKE);
  }

  #end(slot: number): void {
    if ((Atomics.load(this.#seq, slot) & 1) === 1) Atomics.add(this.#seq, slot, 1);
  }

  /**
   * Runs `write` (one control-channel message) holding the lock the thread also takes; `write`
   * calls its `release` once the kernel has all its bytes (at once when the socket took them, or
   * from the write's callback). Writes wait their turn in order; none blocks the event loop.
   */
  exclusive(write: (release: () => void) => void): void {
    this.#queue.push(() => {
      let released = false;
      write(() => {
        if (released) return;
        released = true;
        this.#held = false;
        Atomics.store(this.#control, LOCK, FREE);
        this.#drain();
      });
    });
    this.#drain();
  }

  #threadGone(): void {
    Atomics.compareExchange(this.#control, LOCK, THREAD, FREE);
    this.#drain();
  }

  #drain(): void {
    while (!this.#held && this.#queue.length > 0) {
      if (Atomics.compareExchange(this.#control, LOCK, FREE, MAIN) !== FREE) {
        // The thread is writing one line (microseconds): try again shortly.
        if (!this.#retrying) {
          this.#retrying = true;
          setTimeout(() => { this.#retrying = false; this.#drain(); }, 1);
        }
        return;
      }
      this.#held = true;
      this.#queue.shift()?.();
    }
  }

  /** Stops the thread (before the control channel closes: it writes nothing after). */
  async close(): Promise<void> {
    Atomics.store(this.#control, STOP, 1);
    Atomics.add(this.#control, WAKE, 1);
    Atomics.notify(this.#control, WAKE);
    await this.#thread.terminate();
  }
}
