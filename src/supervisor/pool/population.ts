// This file implements a pool's worker population from the perspective of the process
// manager: it forks and retires workers as the pm policy decides, slows respawns down while
// workers keep dying young (crash backoff), recycles workers past `pm.max_requests` /
// `pm.max_memory`, and replaces every worker one at a time on request. The policy runs on a
// population change and on the pm schedule (pm-schedule.ts); a request costs it O(1).
import type { PoolConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import type { RelayRequest } from '../relay/relay-request.ts';
import type { WorkerChannel } from '../relay/worker-channel.ts';
import type { CrashBackoff } from './backoff.ts';
import { decide, initialWorkers, type PmSnapshot } from './pm/index.ts';
import { PmSchedule } from './pm-schedule.ts';
import type { PoolStats } from './pool-stats.ts';
import { WorkerHandle, type WorkerExit, type WorkerOptions } from './worker-handle.ts';

/** What the population needs from its pool. */
export interface PopulationDeps {
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
  readonly worker: Omit<WorkerOptions, 'pool' | 'log' | 'events' | 'now' | 'maxRequests'>;
  readonly backoff: CrashBackoff;
  readonly stats: PoolStats;
  /** Requests waiting for a worker now. */
  readonly queued: () => number;
  /** A channel of a serving worker is free (the worker got ready, or a request ended). */
  readonly free: (worker: WorkerHandle, channel: WorkerChannel) => void;
  /** A worker is leaving: its channels must not take requests any more. */
  readonly retired: (worker: WorkerHandle) => void;
  readonly exited: (worker: WorkerHandle, info: WorkerExit) => void;
  readonly slow: (worker: WorkerHandle, request: RelayRequest, elapsedMs: number) => void;
}

/** The workers of one pool. */
export class Population {
  private readonly all = new Set<WorkerHandle>();
  /** Workers on their way out (scaled down, recycled, replaced): not counted by the policy. */
  private readonly retired = new Set<WorkerHandle>();
  /** Ready workers with every channel free (what the policy may stop). */
  private readonly idle = new Set<WorkerHandle>();
  private readonly waiters = new Map<WorkerHandle, (ready: boolean) => void>();
  /** Workers with a request in flight (for `max active processes`). */
  private readonly active = new Set<WorkerHandle>();
  private readonly config: PoolConfig;
  private readonly deps: PopulationDeps;
  private started = false;
  private stopping: (() => boolean) | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private readonly schedule: PmSchedule;
  private restarting: Promise<void> | undefined;

  constructor(config: PoolConfig, deps: PopulationDeps) {
    this.config = config;
    this.deps = deps;
    this.schedule = new PmSchedule(() => { this.scale(); }, config.pm.mode !== 'static');
  }

  /** Forks the initial workers; resolves once each said ready or died. */
  async start(): Promise<void> {
    const first = Array.from({ length: initialWorkers(this.config.pm) }, () => this.spawn());
    this.started = true;
    await Promise.all(first.map((w) => this.whenReady(w)));
    this.scale();
  }

  /** True while a graceful stop is under way. */
  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** True when no worker is alive and the crash backoff holds the next fork back. */
  deadWhileBackingOff(): boolean {
    return this.deps.backoff.active && !this.live().some((w) => w.state === 'running');
  }

  /** True when `pm.max_children` workers are alive. O(1). */
  atMaxChildren(): boolean {
    return this.all.size - this.retired.size >= this.config.pm.maxChildren;
  }

  /** Idle, busy and spawning workers now (retired ones excluded). */
  counts(): { idle: number; busy: number; spawning: number } {
    const live = this.live();
    const running = live.filter((w) => w.state === 'running');
    const busy = running.filter((w) => w.busy).length;
    return { idle: running.length - busy, busy, spawning: live.length - running.length };
  }

  /** Every worker process of the pool, retiring ones included (the status page's `full` view). */
  processes(): readonly WorkerHandle[] {
    return [...this.all];
  }

  /** A request has to wait: the policy may fork for it (when a fork is possible). O(1). */
  demand(): void {
    if (!this.atMaxChildren()) this.schedule.demand();
  }

  /** Applies the pm policy now: fork (unless backing off) or retire, and look again when told. */
  scale(): void {
    clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
    if (this.stopping !== undefined || !this.started) return;
    const decision = decide(this.config.pm, this.snapshot());
    for (const pid of decision.stop) {
      const worker = this.live().find((w) => w.pid === pid);
      if (worker !== undefined) this.retire(worker);
    }
    for (let i = this.allowedSpawns(decision.spawn); i > 0; i--) this.spawn();
    if (decision.recheckInMs !== undefined) this.recheckTimer = setTimeout(() => { this.scale(); }, decision.recheckInMs);
  }

  /** Replaces every live worker, one at a time: the old one retires once the new one is ready. */
  async restartAll(): Promise<void> {
    this.restarting ??= this.roll().finally(() => { this.restarting = undefined; });
    await this.restarting;
  }

  /** Graceful stop: each worker retires once it is free and `canExit()`; resolves when all exited. */
  async stop(canExit: () => boolean): Promise<void> {
    this.stopping = canExit;
    clearTimeout(this.recheckTimer);
    clearTimeout(this.backoffTimer);
    this.schedule.stop();
    const exits = [...this.all].map((w) => new Promise<void>((resolve) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) resolve();
      else w.child.once('exit', () => { resolve(); });
    }));
    for (const worker of this.all) if (!worker.busy && canExit()) this.retire(worker);
    await Promise.all(exits);
  }

  /** While stopping: `worker` is free and nothing waits for it, so it leaves. */
  retireIfDone(worker: WorkerHandle): void {
    if (this.stopping !== undefined && !worker.busy && this.stopping()) this.retire(worker);
  }

  /** Kills every worker now. */
  kill(): void {
    for (const worker of this.all) worker.kill('stop');
  }

  private async roll(): Promise<void> {
    for (const old of this.live()) {
      this.deps.stats.replacementsOwed += 1;
      const next = this.spawn();
      if (!(await this.whenReady(next))) {
        this.deps.log.error({ workerPid: next.pid }, 'restart stopped: the new worker did not start');
        return;
      }
      this.retire(old);
    }
    this.deps.log.info({}, 'workers restarted');
    this.scale(); // workers that died or were held back by the backoff meanwhile are replaced
  }

  private allowedSpawns(wanted: number): number {
    const { backoff } = this.deps;
    if (wanted <= 0 || !backoff.active) return wanted;
    const waitMs = backoff.waitMs(this.deps.now());
    if (waitMs > 0) {
      this.backoffTimer ??= setTimeout(() => {
        this.backoffTimer = undefined;
        this.scale();
      }, waitMs);
      return 0;
    }
    // While backing off, one worker at a time probes whether the cause is gone.
    return this.live().some((w) => w.state === 'spawning') ? 0 : 1;
  }

  private spawn(): WorkerHandle {
    if (this.started) this.deps.stats.forked();
    const max = this.config.pm.maxRequests;
    const worker = new WorkerHandle({
      ...this.deps.worker, pool: this.config, log: this.deps.log, now: this.deps.now,
      maxRequests: max > 0 ? Math.max(1, max - Math.floor(this.deps.random() * Math.ceil(max / 10))) : 0,
      events: {
        ready: (w) => { this.onReady(w); },
        busy: (w) => { this.onBusy(w); },
        free: (w, channel) => { this.onFree(w, channel); },
        exited: (w, info) => { this.onExited(w, info); },
        recycle: (w, reason, rssBytes) => { this.recycle(w, reason, { rssBytes, maxMemoryBytes: this.config.pm.maxMemoryBytes }); },
        slow: (w, request, elapsedMs) => { this.deps.slow(w, request, elapsedMs); },
      },
    });
    this.all.add(worker);
    return worker;
  }

  private onReady(worker: WorkerHandle): void {
    this.waiters.get(worker)?.(true);
    const recovered = this.deps.backoff.succeeded() === 'recovered';
    if (recovered) this.deps.log.info({ workerPid: worker.pid }, 'pool recovered');
    if (this.retired.has(worker)) return;
    this.idle.add(worker);
    for (const channel of worker.channels) this.onFree(worker, channel);
    // Backing off, one worker probes at a time (`allowedSpawns`); once it is ready the rest follow
    // (a `static` pool has no periodic look); a restart fills the pool when it ends (`roll`).
    if (recovered && this.restarting === undefined) this.scale();
  }

  /** A worker took its first request: no longer idle; the policy looks again within a second. */
  private onBusy(worker: WorkerHandle): void {
    this.idle.delete(worker);
    this.active.add(worker);
    this.deps.stats.activeNow(this.active.size);
    this.schedule.activity();
  }

  /** A channel is free: back to the pool, unless its worker is leaving or used up. */
  private onFree(worker: WorkerHandle, channel: WorkerChannel): void {
    if (!worker.busy) this.active.delete(worker);
    if (this.retired.has(worker)) return;
    if (!worker.busy) this.idle.add(worker);
    // A worker past `pm.max_requests` takes no more requests: it is replaced (or, while the
    // pool stops, it just leaves).
    if (worker.exhausted) {
      if (this.stopping !== undefined) this.retireIfDone(worker);
      else this.recycle(worker, 'max_requests', { served: worker.served });
      return;
    }
    this.deps.free(worker, channel);
  }

  private recycle(worker: WorkerHandle, reason: string, fields: Record<string, unknown>): void {
    if (this.retired.has(worker)) return;
    this.deps.stats.recycled += 1;
    this.deps.stats.replacementsOwed += 1;
    this.deps.log.info({ workerPid: worker.pid, reason, ...fields }, 'worker recycled');
    this.retire(worker);
    this.scale();
  }

  private retire(worker: WorkerHandle): void {
    this.retired.add(worker);
    this.idle.delete(worker);
    this.deps.retired(worker);
    worker.stop();
  }

  private onExited(worker: WorkerHandle, info: WorkerExit): void {
    this.all.delete(worker);
    this.idle.delete(worker);
    this.active.delete(worker);
    const planned = this.retired.delete(worker) || this.stopping !== undefined;
    this.deps.retired(worker);
    this.waiters.get(worker)?.(false);
    if (!planned) {
      this.deps.stats.replacementsOwed += 1;
      if (info.killReason === undefined) this.deps.stats.crashes += 1;
      else this.deps.stats.killed += 1;
      this.noteDeath(worker, info);
    }
    this.deps.exited(worker, info);
    this.scale();
  }

  /** A death nobody asked for: a young one feeds the crash backoff, logged once per state change. */
  private noteDeath(worker: WorkerHandle, info: WorkerExit): void {
    const fields = { workerPid: worker.pid, code: info.code, signal: info.signal };
    if (worker.readyAtMs !== 0 || info.killReason !== undefined) {
      if (info.requests.length === 0) this.deps.log.warn(fields, 'worker exited');
      return;
    }
    const cause = info.startFailure ?? `exited before ready (code ${String(info.code)}, signal ${String(info.signal)})`;
    if (this.deps.backoff.active) this.deps.log.debug({ ...fields, cause }, 'worker failed to start');
    else this.deps.log.error({ ...fields, cause }, 'worker failed to start');
    if (this.deps.backoff.failed(this.deps.now(), cause) === 'entered') {
      this.deps.log.error({ delayMs: this.deps.backoff.delayMs, cause }, 'pool backing off');
    }
  }

  private live(): WorkerHandle[] {
    return [...this.all].filter((w) => !this.retired.has(w));
  }

  private snapshot(): PmSnapshot {
    const live = this.live();
    const running = live.filter((w) => w.state === 'running');
    const idle = [...this.idle].filter((w) => w.state === 'running').sort((a, b) => a.idleSinceMs - b.idleSinceMs);
    return {
      nowMs: this.deps.now(), spawning: live.length - running.length,
      idle: idle.map((w) => ({ pid: w.pid, idleSinceMs: w.idleSinceMs })),
      busy: running.length - idle.length, queued: this.deps.queued(),
    };
  }

  private async whenReady(worker: WorkerHandle): Promise<boolean> {
    if (worker.state === 'running') return true;
    if (!this.all.has(worker)) return false;
    return new Promise<boolean>((resolve) => {
      this.waiters.set(worker, (ready) => {
        this.waiters.delete(worker);
        resolve(ready);
      });
    });
  }
}
