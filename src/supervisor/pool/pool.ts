// This file implements a pool (a "script group") from the perspective of the relay: the idle
// set of channels (a worker is idle only after it said ready), the bounded queue of requests
// waiting for one, the answers it gives itself (503 overloaded, 502 worker died, 504 timeout),
// and the worker population: the pm policy decides how many, the crash backoff decides when,
// recycling (`pm.max_requests`, `pm.max_memory`) and handler-module restarts replace them.
import { readFileSync } from 'node:fs';
import type { PoolConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import { errorPage, htmlResponse } from '../../cgi/error-page.ts';
import { CrashBackoff } from './backoff.ts';
import { PoolWorkers } from './pool-workers.ts';
import { PoolStats } from './pool-stats.ts';
import type { RelayRequest } from '../relay/relay-request.ts';
import type { PoolStatus } from '../status.ts';
import type { WorkerChannel } from '../relay/worker-channel.ts';
import type { WorkerExit, WorkerHandle, WorkerOptions } from './worker-handle.ts';

/** Answers a request on behalf of the pool (implemented by the connection layer). */
export type Answer = (request: RelayRequest, status: number, page: Buffer) => void;

/** What a pool needs besides its config. */
export interface PoolDeps {
  readonly log: Logger;
  readonly answer: Answer;
  readonly now: () => number;
  readonly random?: () => number;
  readonly worker: Omit<WorkerOptions, 'pool' | 'log' | 'events' | 'now' | 'maxRequests'>;
}

/** One pool and its workers. */
export class Pool {
  readonly config: PoolConfig;
  readonly stats = new PoolStats();
  readonly backoff: CrashBackoff;
  readonly workers: PoolWorkers;
  private readonly queue: RelayRequest[] = [];
  private readonly queuedAtMs = new Map<RelayRequest, number>();
  private readonly deps: PoolDeps;
  private readonly log: Logger;
  private readonly overloadBody: Buffer | undefined;

  constructor(config: PoolConfig, deps: PoolDeps) {
    this.config = config;
    this.deps = deps;
    this.log = deps.log.child({ pool: config.name });
    this.backoff = new CrashBackoff(deps.random);
    this.overloadBody = config.overloadPage === undefined ? undefined : readFileSync(config.overloadPage);
    this.workers = new PoolWorkers(config, {
      log: this.log, now: deps.now, random: deps.random ?? Math.random, worker: deps.worker, backoff: this.backoff,
      stats: this.stats, queued: () => this.queue.length,
      idle: (worker, channel) => { this.onIdle(worker, channel); },
      exited: (worker, info) => { this.onExited(worker, info); },
      slow: (worker, request, elapsedMs) => { this.onSlow(worker, request, elapsedMs); },
    });
  }

  /** Number of requests waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Forks the initial workers; resolves once each said ready or failed. */
  async start(): Promise<void> {
    await this.workers.start();
  }

  /** Runs `request` on an idle channel, queues it, or answers 503. */
  dispatch(request: RelayRequest): void {
    this.stats.accepted += 1;
    const idle = this.workers.takeIdle();
    if (idle !== undefined) {
      idle.worker.assign(idle.channel, request);
      return;
    }
    if (this.workers.deadWhileBackingOff()) {
      this.overloaded(request, 'backing off');
      return;
    }
    if (this.queue.length >= this.config.queue.max) {
      this.overloaded(request, 'queue full');
      return;
    }
    if (this.workers.atMaxChildren()) this.stats.maxChildrenReached += 1;
    request.state = 'queued';
    this.queue.push(request);
    this.queuedAtMs.set(request, this.deps.now());
    this.stats.queuedTo(this.queue.length);
    this.workers.scale();
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

  /** Replaces every worker one at a time (the handler module changed). */
  async restartWorkers(): Promise<void> {
    await this.workers.restartAll();
  }

  /** Reload of an unchanged pool: forget the crash backoff and try again at once. */
  retry(): void {
    if (this.backoff.succeeded() === 'recovered') this.log.info({}, 'backoff cleared by reload');
    this.workers.scale();
  }

  /**
   * Graceful stop: queued requests still run (`handOver` gives them to a successor pool
   * instead), each worker exits once nothing is left for it; resolves when all are gone.
   */
  async stop(handOver?: (request: RelayRequest) => void): Promise<void> {
    if (handOver !== undefined) {
      for (const request of this.queue.splice(0)) {
        clearTimeout(request.queueTimer);
        this.queuedAtMs.delete(request);
        handOver(request);
      }
    }
    await this.workers.stop(() => this.queue.length === 0);
  }

  /** Kills every worker now (after `process_control_timeout`). */
  kill(): void {
    this.workers.kill();
  }

  /** The counters and the live population, for `cgi-fpm status`. */
  status(): PoolStatus {
    const s = this.stats;
    return {
      name: this.config.name, pm: this.config.pm.mode, runtime: this.config.runtime,
      ...this.workers.counts(), maxChildren: this.config.pm.maxChildren,
      queueLength: this.queue.length, maxQueueLength: s.maxQueueLength, queueMax: this.config.queue.max,
      maxQueueWaitMs: s.maxQueueWaitMs, totalQueueWaitMs: s.totalQueueWaitMs, accepted: s.accepted,
      overloaded: s.overloaded, maxChildrenReached: s.maxChildrenReached, slowRequests: s.slowRequests,
      restarts: s.restarts, recycled: s.recycled,
      backoff: {
        state: this.backoff.active ? 'backing-off' : 'none', delayMs: this.backoff.delayMs,
        failures: this.backoff.failures,
        ...(this.backoff.lastFailure === undefined ? {} : { lastFailure: this.backoff.lastFailure }),
      },
    };
  }

  private onIdle(worker: WorkerHandle, channel: WorkerChannel): void {
    // A worker past `pm.max_requests` takes no queued request: putIdle recycles it.
    const next = worker.exhausted ? undefined : this.queue.shift();
    if (next === undefined) {
      this.workers.putIdle(worker, channel);
      return;
    }
    clearTimeout(next.queueTimer);
    this.stats.waited(this.deps.now() - (this.queuedAtMs.get(next) ?? this.deps.now()));
    this.queuedAtMs.delete(next);
    worker.assign(channel, next);
  }

  private onExited(worker: WorkerHandle, info: WorkerExit): void {
    for (const request of info.requests) {
      const timedOut = info.killReason === 'timeout';
      const status = timedOut ? 504 : 502;
      this.log.error({
        workerPid: worker.pid, code: info.code, signal: info.signal, script: request.route?.scriptFilename,
        elapsedMs: this.deps.now() - request.startedAtMs,
      }, timedOut ? 'request timeout' : 'worker exited');
      this.deps.answer(request, status, errorPage(status));
    }
    if (this.workers.deadWhileBackingOff()) {
      for (const request of this.queue.splice(0)) {
        clearTimeout(request.queueTimer);
        this.overloaded(request, 'backing off');
      }
    }
  }

  private onSlow(worker: WorkerHandle, request: RelayRequest, elapsedMs: number): void {
    this.stats.slowRequests += 1;
    this.log.warn({ workerPid: worker.pid, script: request.route?.scriptFilename, elapsedMs }, 'slow request');
  }

  private overloaded(request: RelayRequest, reason: string): void {
    this.stats.overload(this.log, this.deps.now(), { reason, queued: this.queue.length, queueMax: this.config.queue.max });
    const retryAfterS = this.backoff.active
      ? Math.ceil(this.backoff.waitMs(this.deps.now()) / 1000) || 1
      : Math.min(60, Math.max(1, Math.ceil(this.config.queue.timeoutMs / 1000)));
    const headers: [string, string][] = [['Retry-After', String(retryAfterS)]];
    const page = this.overloadBody === undefined ? errorPage(503, headers) : htmlResponse(503, this.overloadBody, headers);
    this.deps.answer(request, 503, page);
  }

  private unqueue(request: RelayRequest): void {
    clearTimeout(request.queueTimer);
    this.queuedAtMs.delete(request);
    const at = this.queue.indexOf(request);
    if (at >= 0) this.queue.splice(at, 1);
  }
}
