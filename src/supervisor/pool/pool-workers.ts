// This file implements a pool's worker population from the perspective of the process
// manager: it forks and retires workers as the pm policy decides, holds the idle channels,
// slows respawns down while workers keep dying young (crash backoff), recycles workers past
// `pm.max_requests` / `pm.max_memory`, and replaces every worker one at a time on request.
import type { PoolConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import type { CrashBackoff } from './backoff.ts';
import { decide, initialWorkers, type PmSnapshot } from './pm/index.ts';
import type { PoolStats } from './pool-stats.ts';
import type { RelayRequest } from '../relay/relay-request.ts';
import type { WorkerChannel } from '../relay/worker-channel.ts';
import { WorkerHandle, type WorkerExit, type WorkerOptions } from './worker-handle.ts';

/** An idle channel and the worker it belongs to. */
export interface IdleChannel {
  readonly worker: WorkerHandle;
  readonly channel: WorkerChannel;
}

/** What the population needs from its pool. */
export interface PoolWorkersDeps {
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
  readonly worker: Omit<WorkerOptions, 'pool' | 'log' | 'events' | 'now' | 'maxRequests'>;
  readonly backoff: CrashBackoff;
  readonly stats: PoolStats;
  readonly queued: () => number;
  readonly idle: (worker: WorkerHandle, channel: WorkerChannel) => void;
  readonly exited: (worker: WorkerHandle, info: WorkerExit) => void;
  readonly slow: (worker: WorkerHandle, request: RelayRequest, elapsedMs: number) => void;
}

/** The workers of one pool. */
export class PoolWorkers {
  private readonly all = new Set<WorkerHandle>();
  /** Workers on their way out (scaled down, recycled, replaced): not counted by the policy. */
  private readonly retired = new Set<WorkerHandle>();
  private readonly idleChannels: IdleChannel[] = [];
  private readonly waiters = new Map<WorkerHandle, (ready: boolean) => void>();
  private readonly config: PoolConfig;
  private readonly deps: PoolWorkersDeps;
  private started = false;
  private stopping: (() => boolean) | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;

  constructor(config: PoolConfig, deps: PoolWorkersDeps) {
    this.config = config;
    this.deps = deps;
  }

  /** Forks the initial workers; resolves once each said ready or died. */
  async start(): Promise<void> {
    const first = Array.from({ length: initialWorkers(this.config.pm) }, () => this.spawn());
    this.started = true;
    await Promise.all(first.map((w) => this.whenReady(w)));
    this.scale();
  }

  /** An idle channel, most recently used first (hot workers stay hot), if any. */
  takeIdle(): IdleChannel | undefined {
    return this.idleChannels.pop();
  }

  /** A channel is free and no request waits: keep it, or retire its worker. */
  putIdle(worker: WorkerHandle, channel: WorkerChannel): void {
    if (this.retired.has(worker)) return;
    if (this.stopping !== undefined) {
      if (!worker.busy && this.stopping()) this.retire(worker);
      return;
    }
    if (worker.exhausted) {
      this.recycle(worker, 'max_requests', { served: worker.served });
      return;
    }
    this.idleChannels.push({ worker, channel });
    if (this.config.pm.mode !== 'static' && !worker.busy) this.scale();
  }

  /** True when no worker is alive and the crash backoff holds the next fork back. */
  deadWhileBackingOff(): boolean {
    return this.deps.backoff.active && this.live().every((w) => w.state !== 'running');
  }

  /** True when `pm.max_children` workers are alive. */
  atMaxChildren(): boolean {
    return this.live().length >= this.config.pm.maxChildren;
  }

  /** Idle, busy and spawning workers now (retired ones excluded). */
  counts(): { idle: number; busy: number; spawning: number } {
    const live = this.live();
    const running = live.filter((w) => w.state === 'running');
    const busy = running.filter((w) => w.busy).length;
    return { idle: running.length - busy, busy, spawning: live.length - running.length };
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
    const exits = [...this.all].map((w) => new Promise<void>((resolve) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) resolve();
      else w.child.once('exit', () => { resolve(); });
    }));
    this.idleChannels.splice(0);
    for (const worker of this.all) if (!worker.busy && canExit()) this.retire(worker);
    await Promise.all(exits);
  }

  /** Kills every worker now. */
  kill(): void {
    for (const worker of this.all) worker.kill('stop');
  }

  private async roll(): Promise<void> {
    for (const old of this.live()) {
      const next = this.spawn();
      if (!(await this.whenReady(next))) {
        this.deps.log.error({ workerPid: next.pid }, 'restart stopped: the new worker did not start');
        return;
      }
      this.retire(old);
    }
    this.deps.log.info({}, 'workers restarted');
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
    if (this.started) this.deps.stats.restarts += 1;
    const max = this.config.pm.maxRequests;
    const worker = new WorkerHandle({
      ...this.deps.worker, pool: this.config, log: this.deps.log, now: this.deps.now,
      maxRequests: max > 0 ? Math.max(1, max - Math.floor(this.deps.random() * Math.ceil(max / 10))) : 0,
      events: {
        ready: (w) => { this.onReady(w); },
        idle: (w, channel) => { this.deps.idle(w, channel); },
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
    if (this.deps.backoff.succeeded() === 'recovered') this.deps.log.info({ workerPid: worker.pid }, 'pool recovered');
  }

  private recycle(worker: WorkerHandle, reason: string, fields: Record<string, unknown>): void {
    if (this.retired.has(worker)) return;
    this.deps.stats.recycled += 1;
    this.deps.log.info({ workerPid: worker.pid, reason, ...fields }, 'worker recycled');
    this.retire(worker);
    this.scale();
  }

  private retire(worker: WorkerHandle): void {
    this.retired.add(worker);
    for (let i = this.idleChannels.length - 1; i >= 0; i--) {
      if (this.idleChannels[i]?.worker === worker) this.idleChannels.splice(i, 1);
    }
    worker.stop();
  }

  private onExited(worker: WorkerHandle, info: WorkerExit): void {
    this.all.delete(worker);
    const planned = this.retired.delete(worker) || this.stopping !== undefined;
    for (let i = this.idleChannels.length - 1; i >= 0; i--) {
      if (this.idleChannels[i]?.worker === worker) this.idleChannels.splice(i, 1);
    }
    this.waiters.get(worker)?.(false);
    if (!planned) this.noteDeath(worker, info);
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
    const idle = running.filter((w) => !w.busy).sort((a, b) => a.idleSinceMs - b.idleSinceMs);
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
