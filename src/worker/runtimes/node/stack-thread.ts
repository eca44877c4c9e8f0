// This file implements the slow-log stack sampler thread of a node or handler worker, from the
// perspective of a `worker_threads` thread that watches the main thread's requests: the main
// thread marks each request's start and end in shared memory (stack-sampler.ts); the thread
// sleeps (`Atomics.waitAsync`) until a request passes `request_slowlog_timeout`, then pauses
// the main thread through its own `inspector` session (`connectToMainThread`; `Debugger.pause`
// interrupts even a busy `for (;;)`), reads the frames, resumes it, and writes one `stack` line
// to the supervisor on the control channel itself, under the write lock it shares with the main
// thread — so the sample reaches the supervisor while the main thread is busy, and no line is
// ever interleaved with one of the main thread's. The debugger is enabled only while sampling.
import { writeSync } from 'node:fs';
import { Session } from 'node:inspector';
import { parentPort, workerData } from 'node:worker_threads';
import { sampledFrames, type CdpCallFrame } from './call-frames.ts';
import { FREE, LOCK, PARKED, STOP, THREAD, WAKE, type StackThreadData } from './stack-thread-layout.ts';

/** How long a pause may take to land: past it the main thread is idle in its event loop, ms. */
const PAUSE_WAIT_MS = 200;
/** How long the thread waits for the lock (the main thread has a write pending) before it drops the sample, ms. */
const LOCK_WAIT_MS = 2000;

const data = workerData as StackThreadData;
const control = new Int32Array(data.control);
const seq = new Int32Array(data.seq);
const startNs = new BigInt64Array(data.startNs);
const timeoutNs = BigInt(Math.round(data.timeoutMs * 1e6));
/** The sequence number each channel was last sampled at (one sample per slow request). */
const sampledAt = new Int32Array(seq.length);

const session = new Session();
session.connectToMainThread();
// Connected: the main thread's start() resolves.
parentPort?.postMessage('ready');
const urls = new Map<string, string>();
let onPaused: ((frames: readonly CdpCallFrame[]) => void) | undefined;
session.on('Debugger.scriptParsed', (m: { params: { scriptId: string; url: string } }) => {
  urls.set(m.params.scriptId, m.params.url);
});
session.on('Debugger.paused', (m: { params: { callFrames: CdpCallFrame[] } }) => {
  const take = onPaused;
  onPaused = undefined;
  if (take !== undefined) take(m.params.callFrames);
  // Ours or not (a `debugger;` statement while enabled), the main thread goes on at once.
  void post('Debugger.resume').catch(() => undefined);
});

function post(method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session.post(method, params, (err: Error | null, result?: unknown) => {
      if (err === null) resolve(result);
      else reject(err);
    });
  });
}

/** The main thread's frames now, or undefined when it ran no JavaScript within {@link PAUSE_WAIT_MS}. */
async function pauseMainThread(): Promise<readonly CdpCallFrame[] | undefined> {
  urls.clear();
  await post('Debugger.enable');
  try {
    const paused = new Promise<readonly CdpCallFrame[] | undefined>((resolve) => {
      const timer = setTimeout(() => { onPaused = undefined; resolve(undefined); }, PAUSE_WAIT_MS);
      onPaused = (frames) => { clearTimeout(timer); resolve(frames); };
    });
    await post('Debugger.pause');
    return await paused;
  } finally {
    // Also drops a pause still pending (the main thread idle): it never lands later.
    await post('Debugger.disable').catch(() => undefined);
  }
}

/** `Atomics.waitAsync` (ES2024; Node 20 has it, the project's TypeScript lib does not declare it). */
const atomics = Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number, timeoutMs?: number): { value: Promise<string> | string };
};
const waitAsync = (array: Int32Array, index: number, value: number, timeoutMs?: number): { value: Promise<string> | string } =>
  atomics.waitAsync(array, index, value, timeoutMs);

const sleep = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); };

/**
 * Writes `line` whole to the control fd under the lock: the main thread writes its messages only
 * while it holds it. False when the lock stayed taken (the main thread has a write the kernel
 * did not take, and is busy): the sample is dropped rather than interleaved.
 */
function writeLine(line: string): boolean {
  const deadline = Date.now() + LOCK_WAIT_MS;
  while (Atomics.compareExchange(control, LOCK, FREE, THREAD) !== FREE) {
    if (Date.now() > deadline) return false;
    sleep(1);
  }
  try {
    const bytes = Buffer.from(line);
    for (let off = 0; off < bytes.length;) {
      try {
        off += writeSync(data.fd, bytes, off);
      } catch (err) {
        // EAGAIN (a full socket): retry. A line once begun is finished, whatever it takes.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return false;
        sleep(1);
      }
    }
    return true;
  } finally {
    Atomics.store(control, LOCK, FREE);
    Atomics.notify(control, LOCK);
  }
}

/** Samples taken for one slow request when each found only the worker's own code running. */
const OWN_CODE_RETRIES = 5;
const RETRY_DELAY_MS = 100;

/** True while channel `slot` still runs the request numbered `s`. */
const stillRuns = (slot: number, s: number): boolean => Atomics.load(seq, slot) === s;

/**
 * Samples the main thread for the requests `due` (channel → sequence number) and sends the
 * frames. A pause that lands in the worker's own code (its runtime between a request's start
 * and the script's first line, on a loaded machine) is tried again while the request runs.
 */
async function sample(due: ReadonlyMap<number, number>, requests: number, elapsedMs: number): Promise<void> {
  let message: object = { type: 'stack', frames: [], paused: false, elapsedMs, requests };
  for (let attempt = 0; attempt < OWN_CODE_RETRIES; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    const callFrames = await pauseMainThread().catch(() => undefined);
    if (callFrames === undefined) break;
    const frames = sampledFrames(callFrames, urls, data.ownRoot, data.depth);
    urls.clear();
    message = { type: 'stack', ...frames, paused: true, elapsedMs, requests };
    if (frames.frames.length > 0 || ![...due].some(([slot, s]) => stillRuns(slot, s))) break;
  }
  urls.clear();
  // A sample that took until its requests ended (a main thread in a long native call, such as
  // `execSync`, runs no protocol message until it returns) is an earlier request's: not sent.
  if ([...due].some(([slot, s]) => stillRuns(slot, s))) writeLine(`${JSON.stringify(message)}\n`);
}

/** Waits for the next slow request, samples it, and again, until told to stop. */
async function watch(): Promise<void> {
  for (;;) {
    if (Atomics.load(control, STOP) !== 0) return;
    const wake = Atomics.load(control, WAKE);
    const now = process.hrtime.bigint();
    let next: bigint | undefined;
    const due = new Map<number, number>();
    let running = 0;
    let oldest = now;
    for (let i = 0; i < seq.length; i++) {
      const s = Atomics.load(seq, i);
      if ((s & 1) === 0) continue;
      running += 1;
      const started = Atomics.load(startNs, i);
      if (started < oldest) oldest = started;
      if (sampledAt[i] === s) continue;
      const deadline = started + timeoutNs;
      if (deadline <= now) {
        sampledAt[i] = s;
        due.set(i, s);
      } else if (next === undefined || deadline < next) next = deadline;
    }
    if (due.size > 0) {
      await sample(due, running, Number((now - oldest) / 1_000_000n));
      continue;
    }
    if (next === undefined) {
      // Nothing to time: sleep until the main thread starts a request (it notifies when parked).
      Atomics.store(control, PARKED, 1);
      if (Atomics.load(control, WAKE) === wake) await waitAsync(control, WAKE, wake).value;
      Atomics.store(control, PARKED, 0);
    } else {
      const ms = Number((next - now) / 1_000_000n) + 1;
      await waitAsync(control, WAKE, wake, ms).value;
    }
  }
}

// A pending `Atomics.waitAsync` does not keep a thread's event loop alive: this timer does
// (the main thread unref'd the thread, so it keeps nothing else alive).
const alive = setInterval(() => undefined, 2 ** 30);
void watch().finally(() => {
  clearInterval(alive);
  session.disconnect();
});
