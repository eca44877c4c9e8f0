// This file implements a pool (a "script group") from the perspective of the relay: its
// workers, the idle set (a worker is idle only after it said ready), the bounded queue of
// requests waiting for one, the answers it gives itself (503 overloaded, 502 worker died,
// 504 timeout) and replacing workers that exit.
import type { PoolConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import type { RelayRequest } from './relay-request.ts';
import { errorPage } from '../cgi/error-page.ts';
import { WorkerHandle, type WorkerExit, type WorkerOptions } from './worker-handle.ts';

/** Answers a request on behalf of the pool (implemented by the connection layer). */
export type Answer = (request: RelayRequest, status: number, page: Buffer) => void;

/** What a pool needs besides its config. */
export interface PoolDeps {
  readonly log: Logger;
  readonly answer: Answer;
  readonly now: () => number;
  readonly worker: Omit<WorkerOptions, 'pool' | 'log' | 'events'>;
}

/** Minimum time between two forks of one worker slot (s6's respawn throttle). */
const RESPAWN_INTERVAL_MS = 1000;

/** One pool: `pm = static` with `pm.max_children` workers. */
export class Pool {
  readonly config: PoolConfig;
  readonly workers = new Set<WorkerHandle>();
  private readonly idle: WorkerHandle[] = [];
  private readonly queue: RelayRequest[] = [];
  private readonly deps: PoolDeps;
  private readonly log: Logger;
  private readonly lastSpawnMs: number[] = [];
  private readyWaiters: (() => void)[] = [];
  private stopping = false;

  constructor(config: PoolConfig, deps: PoolDeps) {
    this.config = config;
    this.deps = deps;
    this.log = deps.log.child({ pool: config.name });
  }

  /** Number of requests waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Forks the initial workers; resolves once every one of them said ready. */
  async start(): Promise<void> {
    for (let slot = 0; slot < this.config.pm.maxChildren; slot++) this.spawn(slot);
    await new Promise<void>((resolve) => {
      this.readyWaiters.push(resolve);
      this.checkReady();
    });
  }

  /** Runs `request` on an idle worker, queues it, or answers 503 when the queue is full. */
  dispatch(request: RelayRequest): void {
    const worker = this.idle.pop();
    if (worker !== undefined) {
      worker.assign(request);
      return;
    }
    if (this.queue.length >= this.config.queue.max) {
      this.overloaded(request, 'queue full');
      return;
    }
    request.state = 'queued';
    this.queue.push(request);
    if (this.config.queue.timeoutMs <= 0) return;
    request.queueTimer = setTimeout(() => {
      this.unqueue(request);
      this.overloaded(request, 'queue timeout');
    }, this.config.queue.timeoutMs);
  }

  /** The web server gave up on `request` (connection closed): drop it or abort it. */
  cancel(request: RelayRequest): void {
    if (request.state === 'queued') {
      this.unqueue(request);
      request.state = 'finished';
      return;
    }
    if (request.state !== 'active') return;
    for (const worker of this.workers) if (worker.current === request) worker.abort(request);
  }

  /** Forwards one STDIN content to the worker running `request`. */
  forwardStdin(request: RelayRequest, content: Buffer): void {
    for (const worker of this.workers) if (worker.current === request) worker.forwardStdin(request, content);
  }

  /**
   * Graceful stop: queued requests still run, each worker exits once nothing is left for it;
   * resolves when every worker is gone.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const exits = [...this.workers].map((w) => new Promise<void>((resolve) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) resolve();
      else w.child.once('exit', () => { resolve(); });
    }));
    for (const worker of this.idle.splice(0)) worker.stop();
    for (const worker of this.workers) if (worker.state === 'spawning') worker.stop();
    await Promise.all(exits);
  }

  /** Kills every worker now (after `process_control_timeout`). */
  kill(): void {
    for (const worker of this.workers) worker.kill('stop');
  }

  private spawn(slot: number): void {
    this.lastSpawnMs[slot] = this.deps.now();
    const worker = new WorkerHandle({
      ...this.deps.worker,
      pool: this.config,
      log: this.log,
      events: {
        ready: (w) => { this.onReady(w); },
        idle: (w) => { this.onIdle(w); },
        exited: (w, info) => { this.onExited(w, slot, info); },
      },
    });
    this.workers.add(worker);
  }

  private onReady(worker: WorkerHandle): void {
    this.log.debug({ workerPid: worker.pid }, 'worker ready');
    this.onIdle(worker);
    this.checkReady();
  }

  private onIdle(worker: WorkerHandle): void {
    const next = this.queue.shift();
    if (next === undefined) {
      if (this.stopping) worker.stop();
      else this.idle.push(worker);
      return;
    }
    clearTimeout(next.queueTimer);
    worker.assign(next);
  }

  private onExited(worker: WorkerHandle, slot: number, info: WorkerExit): void {
    this.workers.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
    if (info.request !== undefined) this.failRequest(worker, info);
    else if (!this.stopping) {
      this.log.warn({ workerPid: worker.pid, code: info.code, signal: info.signal, cause: info.startFailure },
        'worker exited');
    }
    if (this.stopping) return;
    const waitMs = Math.max(0, (this.lastSpawnMs[slot] ?? 0) + RESPAWN_INTERVAL_MS - this.deps.now());
    setTimeout(() => { if (!this.stopping) this.spawn(slot); }, waitMs).unref();
  }

  private failRequest(worker: WorkerHandle, info: WorkerExit): void {
    const request = info.request;
    if (request === undefined) return;
    const timedOut = info.killReason === 'timeout';
    const status = timedOut ? 504 : 502;
    const event = timedOut ? 'request timeout' : 'worker exited';
    this.log.error({ workerPid: worker.pid, code: info.code, signal: info.signal,
      script: request.route?.scriptFilename, elapsedMs: this.deps.now() - request.startedAtMs }, event);
    this.deps.answer(request, status, errorPage(status));
  }

  private overloaded(request: RelayRequest, reason: string): void {
    this.log.warn({ reason, queued: this.queue.length, queueMax: this.config.queue.max }, 'pool overloaded');
    const retryAfterS = Math.min(60, Math.max(1, Math.ceil(this.config.queue.timeoutMs / 1000)));
    this.deps.answer(request, 503, errorPage(503, [['Retry-After', String(retryAfterS)]]));
  }

  private unqueue(request: RelayRequest): void {
    clearTimeout(request.queueTimer);
    const at = this.queue.indexOf(request);
    if (at >= 0) this.queue.splice(at, 1);
  }

  private checkReady(): void {
    const ready = [...this.workers].every((w) => w.state !== 'spawning');
    if (!ready || this.workers.size < this.config.pm.maxChildren) return;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }
}
