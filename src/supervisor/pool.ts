// This file implements a pool (a "script group") from the perspective of the relay: its
// worker slots (`pm = static`: `pm.max_children`), the idle set of channels (a worker is idle
// only after it said ready), the bounded queue of requests waiting for one, the answers it
// gives itself (503 overloaded, 502 worker died, 504 timeout), replacing workers that exit,
// and restarting them one at a time when the handler module changes.
import type { PoolConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import { errorPage } from '../cgi/error-page.ts';
import type { RelayRequest } from './relay-request.ts';
import type { WorkerChannel } from './worker-channel.ts';
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

/** An idle channel and the worker it belongs to. */
interface IdleChannel {
  readonly worker: WorkerHandle;
  readonly channel: WorkerChannel;
}

/** One pool: `pm = static` with `pm.max_children` workers. */
export class Pool {
  readonly config: PoolConfig;
  /** Every live worker, including retired ones finishing their last request. */
  readonly workers = new Set<WorkerHandle>();
  private readonly slots: (WorkerHandle | undefined)[] = [];
  private readonly idle: IdleChannel[] = [];
  private readonly queue: RelayRequest[] = [];
  private readonly deps: PoolDeps;
  private readonly log: Logger;
  private readonly lastSpawnMs: number[] = [];
  private readonly readyWaiters = new Map<WorkerHandle, (ready: boolean) => void>();
  private stopping = false;
  private restarting: Promise<void> | undefined;

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
    const workers = Array.from({ length: this.config.pm.maxChildren }, (_, slot) => this.spawn(slot));
    await Promise.all(workers.map((w) => this.whenReady(w)));
  }

  /** Runs `request` on an idle channel, queues it, or answers 503 when the queue is full. */
  dispatch(request: RelayRequest): void {
    const idle = this.idle.pop();
    if (idle !== undefined) {
      idle.worker.assign(idle.channel, request);
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
    } else if (request.state === 'active') {
      request.worker?.abort(request);
    }
  }

  /**
   * Replaces every worker, one at a time: a new worker is forked into the slot, and once it
   * said ready the old one finishes its request and exits. No request fails: the old worker
   * serves until its successor is ready. Used when the handler module changed.
   */
  async restartWorkers(): Promise<void> {
    this.restarting ??= this.rollSlots().finally(() => { this.restarting = undefined; });
    await this.restarting;
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
    this.idle.splice(0);
    for (const worker of this.workers) if (!worker.busy) worker.stop();
    await Promise.all(exits);
  }

  /** Kills every worker now (after `process_control_timeout`). */
  kill(): void {
    for (const worker of this.workers) worker.kill('stop');
  }

  private async rollSlots(): Promise<void> {
    for (let slot = 0; slot < this.slots.length && !this.stopping; slot++) {
      const old = this.slots[slot];
      const next = this.spawn(slot);
      if (!(await this.whenReady(next))) {
        this.log.error({ workerPid: next.pid }, 'restart stopped: the new worker did not start');
        return;
      }
      if (old !== undefined) this.retire(old);
    }
    this.log.info({}, 'workers restarted');
  }

  private retire(worker: WorkerHandle): void {
    for (let i = this.idle.length - 1; i >= 0; i--) if (this.idle[i]?.worker === worker) this.idle.splice(i, 1);
    worker.stop();
  }

  private spawn(slot: number): WorkerHandle {
    this.lastSpawnMs[slot] = this.deps.now();
    const worker = new WorkerHandle({
      ...this.deps.worker,
      pool: this.config,
      log: this.log,
      events: {
        ready: (w) => { this.readyWaiters.get(w)?.(true); },
        idle: (w, channel) => { this.onIdle(w, channel); },
        exited: (w, info) => { this.onExited(w, slot, info); },
      },
    });
    this.slots[slot] = worker;
    this.workers.add(worker);
    return worker;
  }

  private async whenReady(worker: WorkerHandle): Promise<boolean> {
    if (worker.state === 'running') return true;
    return new Promise<boolean>((resolve) => {
      this.readyWaiters.set(worker, (ready) => {
        this.readyWaiters.delete(worker);
        resolve(ready);
      });
    });
  }

  private onIdle(worker: WorkerHandle, channel: WorkerChannel): void {
    const next = this.queue.shift();
    if (next !== undefined) {
      clearTimeout(next.queueTimer);
      worker.assign(channel, next);
    } else if (this.stopping) {
      if (!worker.busy) worker.stop();
    } else {
      this.idle.push({ worker, channel });
    }
  }

  private onExited(worker: WorkerHandle, slot: number, info: WorkerExit): void {
    this.workers.delete(worker);
    for (let i = this.idle.length - 1; i >= 0; i--) if (this.idle[i]?.worker === worker) this.idle.splice(i, 1);
    for (const request of info.requests) this.failRequest(worker, request, info);
    if (info.requests.length === 0 && !this.stopping && this.slots[slot] === worker) {
      this.log.warn({ workerPid: worker.pid, code: info.code, signal: info.signal, cause: info.startFailure },
        'worker exited');
    }
    this.readyWaiters.get(worker)?.(false);
    if (this.stopping || this.slots[slot] !== worker) return;
    this.slots[slot] = undefined;
    const waitMs = Math.max(0, (this.lastSpawnMs[slot] ?? 0) + RESPAWN_INTERVAL_MS - this.deps.now());
    setTimeout(() => { if (!this.stopping && this.slots[slot] === undefined) this.spawn(slot); }, waitMs).unref();
  }

  private failRequest(worker: WorkerHandle, request: RelayRequest, info: WorkerExit): void {
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
}
