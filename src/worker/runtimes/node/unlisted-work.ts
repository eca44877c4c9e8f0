// This file implements the asynchronous work a script can start that keeps a real Node process
// alive but that `process.getActiveResourcesInfo()` does not list, from the perspective of the
// node runtime deciding when a script is done: jobs on libuv's thread pool that are not libuv
// requests (crypto's and zlib's callback functions, zlib streams, WebCrypto), c-ares DNS queries
// (`dns.resolve*`, `dns.reverse`), V8's asynchronous WebAssembly compilation, and worker threads. Their public entry points are wrapped once per
// worker (through Proxies, so that names, lengths and `util.promisify.custom` stay the
// originals'), and count while script code started them and they are not finished. Child
// processes are listed by Node; they are recorded here only so that a script that exits can
// have them killed, as its process group would be.
import childProcess, { type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import dns from 'node:dns';
import type { Writable, Readable } from 'node:stream';
import workerThreads from 'node:worker_threads';
import zlib from 'node:zlib';

/** c-ares queries: their sockets and timers are c-ares', which Node does not list. */
const DNS_QUERIES = ['resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCaa', 'resolveCname', 'resolveMx',
  'resolveNaptr', 'resolveNs', 'resolvePtr', 'resolveSoa', 'resolveSrv', 'resolveTxt', 'reverse'];

/** Functions that run a thread-pool job (or a c-ares query) when given a callback as their last argument. */
const CALLBACK_JOBS: readonly [object, readonly string[]][] = [
  [dns, DNS_QUERIES],
  [dns.Resolver.prototype, DNS_QUERIES],
  [crypto, ['checkPrime', 'generateKey', 'generateKeyPair', 'generatePrime', 'hkdf', 'pbkdf2', 'randomBytes',
    'randomFill', 'randomInt', 'scrypt', 'sign', 'verify']],
  [zlib, ['brotliCompress', 'brotliDecompress', 'deflate', 'deflateRaw', 'gunzip', 'gzip', 'inflate',
    'inflateRaw', 'unzip', 'zstdCompress', 'zstdDecompress']],
];

/** zlib's stream factories and classes: each stream's chunks are processed on the thread pool. */
const ZLIB_STREAMS = ['BrotliCompress', 'BrotliDecompress', 'Deflate', 'DeflateRaw', 'Gunzip', 'Gzip', 'Inflate',
  'InflateRaw', 'Unzip', 'ZstdCompress', 'ZstdDecompress'];

/** WebAssembly's functions that compile on V8's background threads. */
const WASM_ASYNC = ['compile', 'compileStreaming', 'instantiate', 'instantiateStreaming'];

/** child_process functions that start a child and return its ChildProcess. */
const SPAWNERS = ['spawn', 'exec', 'execFile', 'fork'];

const { then: promiseThen } = Promise.prototype as { then: (...handlers: unknown[]) => unknown };

/** `WebAssembly` (a global of V8's; @types/node does not declare it). */
const wasm = (globalThis as unknown as { WebAssembly: object }).WebAssembly;

type AnyFunction = (...args: unknown[]) => unknown;

/** What the wrappers ask and tell the runtime. */
export interface WorkOwner {
  /** True when the caller is script code. */
  isScript(): boolean;
  /** A script's job finished (or a thread exited): the run may be done now. */
  changed(): void;
}

type ZlibStream = Readable & Writable;

/** The unlisted work of the script in progress, recorded by the wrappers. */
export class WorkRecords {
  #jobs = 0;
  readonly #streams = new Set<ZlibStream>();
  readonly #threads = new Set<workerThreads.Worker>();
  readonly #children = new Set<ChildProcess>();

  /** True while a job, a zlib stream's chunk or a worker thread of the script is in progress. */
  busy(): boolean {
    if (this.#jobs > 0 || this.#threads.size > 0) return true;
    for (const stream of this.#streams) if (processing(stream)) return true;
    return false;
  }

  /** What is in progress, for the log (empty when nothing). */
  describe(): string[] {
    const out: string[] = [];
    const add = (name: string, count: number): void => {
      if (count > 0) out.push(count === 1 ? name : `${name}×${count}`);
    };
    add('thread-pool job', this.#jobs);
    add('worker thread', this.#threads.size);
    return out;
  }

  /**
   * The script's process is gone: its worker threads are terminated, its zlib streams
   * destroyed, its child processes killed (SIGKILL, as when a process group is killed).
   * Jobs already on the thread pool cannot be stopped; they finish by themselves.
   */
  stop(): void {
    for (const thread of this.#threads) void thread.terminate();
    for (const stream of this.#streams) stream.destroy();
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  /** Forgets the run's records (its jobs still finishing count no more). */
  forget(): void {
    this.#jobs = 0;
    this.#streams.clear();
    this.#threads.clear();
    this.#children.clear();
  }

  /** @internal for the wrappers */
  jobStarted(): () => void {
    this.#jobs++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (this.#jobs > 0) this.#jobs--;
    };
  }

  /** @internal for the wrappers */
  stream(stream: ZlibStream): void {
    this.#streams.add(stream);
  }

  /** @internal for the wrappers */
  thread(thread: workerThreads.Worker, onExit: () => void): void {
    this.#threads.add(thread);
    thread.once('exit', () => {
      if (this.#threads.delete(thread)) onExit();
    });
  }

  /** @internal for the wrappers */
  child(child: ChildProcess): void {
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
  }
}

/**
 * A zlib stream is working while a written chunk waits for its result, and after its input
 * ended until its output has (the last output comes after the writable side finished). One
 * whose output nobody reads (not flowing, and full or complete) waits for a reader, which
 * keeps the script alive by itself if it exists.
 */
function processing(stream: ZlibStream): boolean {
  if (stream.destroyed || stream.readableEnded) return false;
  const unread = stream.writableFinished || stream.readableLength >= stream.readableHighWaterMark;
  if (stream.readableFlowing !== true && unread) return false;
  return stream.writableLength > 0 || stream.writableEnded;
}

let active: { readonly owner: WorkOwner; readonly records: WorkRecords } | undefined;
/** Each wrapped property, to be put back: where, which, as it was. */
const originals: [object, string, PropertyDescriptor][] = [];
const { defineProperty, getOwnPropertyDescriptor } = Reflect;

/**
 * Wraps the entry points (once per worker) and makes `records` the place they record to.
 * Install before any script runs and before built-ins are captured for `state.globals`.
 * @returns the function that puts the originals back
 */
export function installWorkHooks(owner: WorkOwner, records: WorkRecords): () => void {
  active = { owner, records };
  if (originals.length > 0) return uninstallWorkHooks;
  for (const [home, names] of CALLBACK_JOBS) for (const name of names) wrap(home, name, { apply: callbackJob });
  for (const name of ZLIB_STREAMS) {
    wrap(zlib, name, STREAM);
    wrap(zlib, `create${name}`, STREAM);
  }
  const subtle = Object.getPrototypeOf(crypto.webcrypto.subtle) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(subtle)) {
    if (name !== 'constructor') wrap(subtle, name, { apply: promiseJob });
  }
  for (const name of WASM_ASYNC) wrap(wasm, name, { apply: promiseJob });
  for (const home of [dns.promises, dns.promises.Resolver.prototype]) {
    for (const name of DNS_QUERIES) wrap(home, name, { apply: promiseJob });
  }
  wrap(workerThreads, 'Worker', THREAD);
  for (const name of SPAWNERS) wrap(childProcess, name, CHILD);
  return uninstallWorkHooks;
}

function uninstallWorkHooks(): void {
  active = undefined;
  for (const [home, name, original] of originals.splice(0)) defineProperty(home, name, original);
}

/**
 * Replaces `home[name]`, a data property holding a function (read-only ones too, such as zlib's
 * `createGzip`, if configurable), with a Proxy of it; its attributes stay.
 */
function wrap(home: object, name: string, handler: ProxyHandler<AnyFunction>): void {
  const descriptor = getOwnPropertyDescriptor(home, name);
  const original = descriptor?.value as unknown;
  if (descriptor === undefined || typeof original !== 'function') return;
  if (descriptor.writable !== true && descriptor.configurable !== true) return;
  originals.push([home, name, descriptor]);
  defineProperty(home, name, { ...descriptor, value: new Proxy(original as AnyFunction, handler) });
}

/** The recorder when the caller is script code, else undefined. */
function scriptRecorder(): { readonly owner: WorkOwner; readonly records: WorkRecords } | undefined {
  return active?.owner.isScript() === true ? active : undefined;
}

function callbackJob(target: AnyFunction, thisArg: unknown, args: unknown[]): unknown {
  const hooks = scriptRecorder();
  const last = args.at(-1);
  if (hooks === undefined || typeof last !== 'function') return Reflect.apply(target, thisArg, args);
  const callback = last as AnyFunction;
  const finished = hooks.records.jobStarted();
  function done(this: unknown, ...results: unknown[]): unknown {
    finished();
    try {
      return Reflect.apply(callback, this, results);
    } finally {
      hooks?.owner.changed();
    }
  }
  try {
    return Reflect.apply(target, thisArg, [...args.slice(0, -1), done]);
  } catch (err) {
    finished();
    throw err;
  }
}

function promiseJob(target: AnyFunction, thisArg: unknown, args: unknown[]): unknown {
  const hooks = scriptRecorder();
  if (hooks === undefined) return Reflect.apply(target, thisArg, args);
  const finished = hooks.records.jobStarted();
  let result: unknown;
  try {
    result = Reflect.apply(target, thisArg, args);
  } catch (err) {
    finished();
    throw err;
  }
  if (!(result instanceof Promise)) {
    finished();
    return result;
  }
  // The script gets the promise that settles after the count went down; its rejection still
  // reaches the script's handlers (or becomes its unhandled rejection).
  return Reflect.apply(promiseThen, result, [
    (value: unknown) => {
      finished();
      hooks.owner.changed();
      return value;
    },
    (reason: unknown) => {
      finished();
      hooks.owner.changed();
      throw reason;
    },
  ]);
}

/**
 * Traps for a function or class whose result (a stream, a thread, a child) is recorded when
 * script code made it, whether called or constructed.
 */
function recording(record: (made: unknown, hooks: NonNullable<typeof active>) => void): ProxyHandler<AnyFunction> {
  const recorded = (made: unknown): void => {
    const hooks = scriptRecorder();
    if (hooks !== undefined) record(made, hooks);
  };
  return {
    apply: (target, thisArg, args: unknown[]): unknown => {
      const made = Reflect.apply(target, thisArg, args);
      recorded(made);
      return made;
    },
    construct: (target, args: unknown[], newTarget): object => {
      const made = Reflect.construct(target, args, newTarget) as object;
      recorded(made);
      return made;
    },
  };
}

const STREAM = recording((stream, hooks) => {
  hooks.records.stream(stream as ZlibStream);
});
const THREAD = recording((thread, hooks) => {
  hooks.records.thread(thread as workerThreads.Worker, () => {
    hooks.owner.changed();
  });
});
const CHILD = recording((child, hooks) => {
  hooks.records.child(child as ChildProcess);
});
