// This file implements a pool (a "script group") from the perspective of the relay: a request
// routed here runs on a free worker channel or waits (the matcher: queue and idle set in one
// place), and the pool gives its own answers (503 overloaded, 502 worker died, 504 timeout);
// the worker population (pm policy, crash backoff, recycling, handler-module restarts) is the
// population's. A request's life is its own (relay-request.ts): the pool only matches it.
import { readFileSync } from 'node:fs';
import type { PoolConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import { errorPage, htmlResponse } from '../../cgi/error-page.ts';
import type { RelayRequest } from '../relay/relay-request.ts';
import type { WorkerChannel } from '../relay/worker-channel.ts';
import type { LogFiles } from '../../log/log-files.ts';
import type { PoolStatus } from '../status.ts';
import { slowEntryText } from './slow-entry.ts';
import { CrashBackoff } from './backoff.ts';
import { Matcher } from './matcher.ts';
import { Population } from './population.ts';
import { PoolStats } from './pool-stats.ts';
import type { WorkerExit, WorkerHandle, WorkerOptions } from './worker-handle.ts';
import { workerStatus } from './worker-status.ts';

/** What a pool needs besides its config. */
export interface PoolDeps {
  readonly log: Logger;
  readonly now: () => number;
  readonly random?: () => number;
  readonly worker: Omit<WorkerOptions, 'pool' | 'log' | 'events' | 'now' | 'maxRequests'>;
  /** Where `slowlog` entries go (the daemon's log files). @defaultValue none: only the log line */
  readonly files?: LogFiles;
}

/** One pool and its workers. */
export class Pool {
  readonly config: PoolConfig;
  readonly stats = new PoolStats();
  readonly backoff: CrashBackoff;
  readonly workers: Population;
  private readonly matcher: Matcher;
  private readonly deps: PoolDeps;
  private readonly log: Logger;
  private readonly overloadBody: Buffer | undefined;
  /** When the pool was created (ms on its clock). @see FPM status `start time` */
  readonly startedAtMs: number;

  constructor(config: PoolConfig, deps: PoolDeps) {
    this.config = config;
    this.deps = deps;
    this.startedAtMs = deps.now();
    this.log = deps.log.child({ pool: config.name });
    this.backoff = new CrashBackoff(deps.random);
    this.overloadBody = config.overloadPage === undefined ? undefined : readFileSync(config.overloadPage);
    this.matcher = new Matcher({
      now: deps.now, queueTimeoutMs: config.queue.timeoutMs,
      waited: (waitMs) => { this.stats.waited(waitMs); },
      expired: (request) => { this.overloaded(request, 'queue timeout'); },
    });
    this.workers = new Population(config, {
      log: this.log, now: deps.now, random: deps.random ?? Math.random, worker: deps.worker, backoff: this.backoff,
      stats: this.stats, queued: () => this.matcher.waiting,
      free: (worker, channel) => { this.onFree(worker, channel); },
      retired: (worker) => { this.matcher.forget(worker.channels); },
      exited: (worker, info) => { this.onExited(worker, info); },
      slow: (worker, request, elapsedMs) => { this.onSlow(worker, request, elapsedMs); },
    });
  }

  /** Number of requests waiting for a worker. */
  get queued(): number {
    return this.matcher.waiting;
  }

  /** Forks the initial workers; resolves once each said ready or failed. */
  async start(): Promise<void> {
    await this.workers.start();
  }

  /** Runs `request` on a free channel, queues it, or answers 503. O(1). */
  dispatch(request: RelayRequest): void {
    this.stats.accepted += 1;
    if (this.matcher.run(request)) return;
    if (this.workers.deadWhileBackingOff()) {
      this.overloaded(request, 'backing off');
      return;
    }
    if (this.matcher.waiting >= this.config.queue.max) {
      this.overloaded(request, 'queue full');
      return;
    }
    if (this.workers.atMaxChildren()) this.stats.maxChildrenReached += 1;
    this.matcher.enqueue(request);
    this.stats.queuedTo(this.matcher.waiting);
    this.workers.demand();
  }

  /** The web server gave up on a queued request (already aborted): it no longer waits here. */
  withdraw(request: RelayRequest): void {
    this.matcher.withdraw(request);
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
    if (handOver !== undefined) for (const request of this.matcher.takeAll()) handOver(request);
    this.matcher.forgetAll();
    await this.workers.stop(() => !this.matcher.hasWaiting());
  }

  /** Kills every worker now (after `process_control_timeout`). */
  kill(): void {
    this.workers.kill();
  }

  /** The counters and the live population, for `cgi-fpm status`. */
  status(): PoolStatus {
    const s = this.stats;
    const now = this.deps.now();
    const processes = this.workers.processes().map((w) => workerStatus(w, now));
    const sampled = processes.filter((p) => p.rssBytes !== undefined);
    const rssBytes = sampled.length === 0 ? undefined : sampled.reduce((n, p) => n + (p.rssBytes ?? 0), 0);
    return {
      name: this.config.name, pm: this.config.pm.mode, runtime: this.config.runtime,
      ...this.workers.counts(), maxChildren: this.config.pm.maxChildren,
      queueLength: this.matcher.waiting, maxQueueLength: s.maxQueueLength, queueMax: this.config.queue.max,
      maxQueueWaitMs: s.maxQueueWaitMs, totalQueueWaitMs: s.totalQueueWaitMs,
      // Direct: the connections the workers accepted (those gone were added when they exited).
      accepted: s.accepted + this.workers.processes().reduce((n, w) => n + (w.direct?.accepted ?? 0), 0),
      overloaded: s.overloaded, maxChildrenReached: s.maxChildrenReached, slowRequests: s.slowRequests,
      restarts: s.restarts, respawns: s.respawns, scaleUps: s.scaleUps, crashes: s.crashes, killed: s.killed,
      recycled: s.recycled, maxActive: s.maxActive, startedAtMs: this.startedAtMs,
      ...(rssBytes === undefined ? {} : { rssBytes }),
      backoff: {
        state: this.backoff.active ? 'backing-off' : 'none', delayMs: this.backoff.delayMs,
        failures: this.backoff.failures,
        ...(this.backoff.lastFailure === undefined ? {} : { lastFailure: this.backoff.lastFailure }),
      },
      processes,
    };
  }

  /** Reads every worker's memory from /proc for the next {@link Pool.status}; never rejects. */
  async sampleMemory(): Promise<void> {
    await Promise.all(this.workers.processes().map((w) => w.sampleMemory()));
  }

  /** A serving worker's channel is free: the longest-waiting request takes it, else it waits. */
  private onFree(worker: WorkerHandle, channel: WorkerChannel): void {
    if (this.matcher.next(channel)) return;
    if (this.workers.isStopping) this.workers.retireIfDone(worker);
    else this.matcher.park(channel);
  }

  private onExited(worker: WorkerHandle, info: WorkerExit): void {
    this.stats.accepted += worker.direct?.accepted ?? 0;
    for (const request of info.requests) {
      const timedOut = info.killReason === 'timeout';
      const status = timedOut ? 504 : 502;
      this.log.error({
        workerPid: worker.pid, code: info.code, signal: info.signal, script: request.route?.scriptFilename.toString(),
        elapsedMs: this.deps.now() - request.startedAtMs,
      }, timedOut ? 'request timeout' : 'worker exited');
      request.answer(status, errorPage(status));
    }
    if (this.workers.deadWhileBackingOff()) {
      for (const request of this.matcher.takeAll()) this.overloaded(request, 'backing off');
    }
  }

  private onSlow(worker: WorkerHandle, request: RelayRequest, elapsedMs: number): void {
    this.stats.slowRequests += 1;
    const text = (name: string): string | undefined => request.params?.get(name)?.toString('utf8');
    this.log.warn({
      workerPid: worker.pid, script: request.route?.scriptFilename.toString(), method: text('REQUEST_METHOD'),
      uri: text('REQUEST_URI'), elapsedMs,
    }, 'slow request');
    const path = this.config.slowlog;
    if (path === undefined || this.deps.files === undefined) return;
    const files = this.deps.files;
    const nowMs = this.deps.now();
    void worker.stackSample().then((sample) => {
      files.write(path, slowEntryText({
        pool: this.config.name, workerPid: worker.pid, request, elapsedMs, nowMs,
        ...('stack' in sample ? { stack: sample.stack } : { stack: [], noStack: sample.noStack }),
      }));
    });
  }

  private overloaded(request: RelayRequest, reason: string): void {
    this.stats.overload(this.log, this.deps.now(), { reason, queued: this.matcher.waiting, queueMax: this.config.queue.max });
    const retryAfterS = this.backoff.active
      ? Math.ceil(this.backoff.waitMs(this.deps.now()) / 1000) || 1
      : Math.min(60, Math.max(1, Math.ceil(this.config.queue.timeoutMs / 1000)));
    const headers: [string, string][] = [['Retry-After', String(retryAfterS)]];
    const page = this.overloadBody === undefined ? errorPage(503, headers) : htmlResponse(503, this.overloadBody, headers);
    request.answer(503, page);
  }
}
