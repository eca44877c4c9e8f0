// This file implements the supervisor's handle on one worker process, from the perspective of
// its pool: it forks the worker (as the pool's `user`, if any) with its FastCGI channels
// (fds 3…) and a control channel (the fd after them), tracks its life (spawning → running → exiting) and how
// many of its channels are busy, arms the per-request backstop timers, and on exit hands back
// the requests it held and kills the CGI process group it reported.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import type { PoolConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import { CHANNEL_FD, channelCount, controlFd, hasType, type SupervisorMessage } from '../../worker/ipc.ts';
import { ControlChannel, WORKER_LINE_MAX_BYTES } from '../../worker/control-channel.ts';
import { readRssBytes } from '../../worker/rss.ts';
import type { RequestUsage } from './request-usage.ts';
import type { StackSample } from './python-stack.ts';
import { StackSampler, UsageMeter } from './worker-samples.ts';
import { workerIdentity } from './pool-identity.ts';
import { WorkerGroups } from './worker-groups.ts';
import type { RelayRequest } from '../relay/relay-request.ts';
import { WorkerChannel, type ChannelEvents } from '../relay/worker-channel.ts';

/** Worker life: forked but not yet ready, serving (some channel may be busy), on its way out. */
export type WorkerState = 'spawning' | 'running' | 'exiting';

/** `child_process.spawn`'s shape, injected so tests and the CLI choose. */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** Why the supervisor killed a worker, if it did. */
export type KillReason = 'timeout' | 'abort' | 'stop' | 'protocol';

/** What a worker handle reports to its pool. */
export interface WorkerEvents {
  /** The worker said ready: each of its channels is free. */
  ready(worker: WorkerHandle): void;
  /** The worker asks to be replaced after its request (`pm.max_memory` passed). */
  recycle(worker: WorkerHandle, reason: string, rssBytes: number): void;
  /** A request passed `request_slowlog_timeout` and is still running. */
  slow(worker: WorkerHandle, request: RelayRequest, elapsedMs: number): void;
  /** The first of its channels took a request (the worker was idle). */
  busy(worker: WorkerHandle): void;
  /** A channel's request ended: the channel is free (and the worker idle if `!worker.busy`). */
  free(worker: WorkerHandle, channel: WorkerChannel): void;
  exited(worker: WorkerHandle, info: WorkerExit): void;
}

/** How a worker ended, and the requests it held then. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly requests: readonly RelayRequest[];
  readonly killReason: KillReason | undefined;
  readonly startFailure: string | undefined;
}

/** Everything needed to fork one worker of a pool. */
export interface WorkerOptions {
  readonly pool: PoolConfig;
  readonly spawn: SpawnFn;
  /** Absolute path of the built worker entry (`dist/worker/main.js`). */
  readonly workerMain: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logLevel: string;
  readonly pretty: boolean;
  readonly log: Logger;
  readonly events: WorkerEvents;
  readonly now: () => number;
  /** This worker's `pm.max_requests` limit (jitter applied by the pool); 0 = none. */
  readonly maxRequests: number;
}

/** Time a worker gets to end an aborted request before SIGKILL. */
const ABORT_GRACE_MS = 5000;
/**
 * Margin over `request_terminate_timeout` before the supervisor kills the worker itself: the
 * worker answers 504 on time unless its event loop is stuck (a script in an endless loop in
 * the `node` runtime), and then the supervisor does.
 */
const TERMINATE_MARGIN_MS = 500;

/** One worker process and its FastCGI channels. */
export class WorkerHandle {
  state: WorkerState = 'spawning';
  readonly child: ChildProcess;
  readonly pid: number;
  readonly channels: readonly WorkerChannel[];
  /** Control messages both ways (ready, stop, recycle, process groups): JSON lines. */
  private readonly control: ControlChannel | undefined;
  /** Requests this worker has finished. */
  served = 0;
  /** When it was forked, said ready, and last became idle (ms on the pool's clock). */
  readonly spawnedAtMs: number;
  readyAtMs = 0;
  idleSinceMs = 0;
  /** The request running now, else the last one it ran (PHP-FPM's `full` status view). */
  lastRequest: RelayRequest | undefined;
  /** When {@link lastRequest} ended (ms on the pool's clock); 0 while it runs. */
  lastRequestEndedAtMs = 0;
  /** What the last finished request used; measured only when the pool shows it ({@link measuresUsage}). */
  lastUsage: RequestUsage | undefined;
  /** Resident memory of the worker and its runtime's process group, bytes, when last sampled. */
  rssBytes: number | undefined;
  private readonly options: WorkerOptions;
  private readonly timers = new Map<WorkerChannel, NodeJS.Timeout>();
  /** Slow-log stack samples (worker-samples.ts). */
  private readonly stacks: StackSampler;
  private readonly slowTimers = new Map<WorkerChannel, NodeJS.Timeout>();
  private killReason: KillReason | undefined;
  private startFailure: string | undefined;
  /** {@link stop} was asked while a request ran: the `stop` goes out when the last one ends. */
  private stopOnceIdle = false;
  /** The process groups its runtime reported (worker-groups.ts). */
  private readonly groups: WorkerGroups;
  /** Channels carrying a request now. */
  private busyChannels = 0;
  /** `last request cpu`/`memory`, when the pool shows them (worker-samples.ts). */
  private readonly usage: UsageMeter;
  /** Its exit was handled (once). */
  private gone = false;

  constructor(options: WorkerOptions) {
    this.options = options;
    this.spawnedAtMs = options.now();
    this.usage = new UsageMeter(options.pool, options.now);
    this.groups = new WorkerGroups(options.pool, options.log);
    this.stacks = new StackSampler(options.pool, (message) => { this.send(message); }, options.now);
    const count = channelCount(options.pool);
    const fd = controlFd(options.pool);
    // No Node IPC ('ipc'): it would put process.send & co. where a node pool's scripts run.
    this.child = options.spawn(process.execPath, [options.workerMain, String(fd)], {
      stdio: ['ignore', 'inherit', 'inherit', ...Array<'pipe'>(count + 1).fill('pipe')],
      // The pool's `user`: uid, gid and its HOME/USER/LOGNAME (env unchanged without one).
      ...workerIdentity(options.pool, options.env),
    });
    this.pid = this.child.pid ?? 0;
    const events: ChannelEvents = {
      started: (channel, request) => { this.onStarted(channel, request); },
      finished: (channel) => { this.onFinished(channel); },
      ending: (_channel, request) => { this.onEnding(request); },
      // The web server went away: the worker must end the request within the grace, or die.
      aborted: (channel) => { this.arm(channel, ABORT_GRACE_MS, 'abort'); },
      protocolError: (_channel, err) => {
        options.log.error({ err, workerPid: this.pid }, 'protocol error');
        this.kill('protocol');
      },
    };
    // A spawn that failed (EMFILE at the fd limit: no pid, no stdio; issue 10.4) has no
    // channels; its 'error' is its exit, a start failure the pool backs off from.
    const spawned = this.child.pid !== undefined;
    this.channels = spawned ? Array.from({ length: count },
      (_, i) => new WorkerChannel(this.child.stdio[CHANNEL_FD + i] as Socket, events)) : [];
    this.control = spawned ? new ControlChannel(this.child.stdio[fd] as Socket, {
      message: (message) => { this.onMessage(message); },
      invalid: (reason) => {
        options.log.error({ workerPid: this.pid, reason }, 'worker control message refused');
        this.kill('protocol');
      },
      close: () => undefined,
    }, WORKER_LINE_MAX_BYTES) : undefined;
    this.child.on('error', (err) => {
      options.log.error({ err, workerPid: this.pid }, 'worker spawn failed');
      if (spawned || this.gone) return;
      this.startFailure ??= `spawn failed: ${err.message}`;
      this.onExit(null, null);
    });
    this.child.once('exit', (code, signal) => { this.onExit(code, signal); });
    this.send({ type: 'pool', pool: options.pool, logLevel: options.logLevel, pretty: options.pretty });
  }

  /** True once `pm.max_requests` is reached: the pool replaces the worker. */
  get exhausted(): boolean {
    return this.options.maxRequests > 0 && this.served >= this.options.maxRequests;
  }

  /** True while any channel carries a request. */
  get busy(): boolean {
    return this.busyChannels > 0;
  }

  /**
   * Asks the worker to exit (graceful), via IPC, once its requests have ended: a `stop` that
   * overlaps a request (one the worker has not read yet, or whose END_REQUEST it has not
   * flushed yet) made the worker leave without answering it (a 502 or a cut response).
   */
  stop(): void {
    if (this.state === 'exiting') return;
    this.state = 'exiting';
    if (this.busy) this.stopOnceIdle = true;
    else this.send({ type: 'stop' });
  }

  /**
   * Reads the resident memory of the worker and of its persistent runtime child (the python
   * runner) from /proc into {@link rssBytes}; never rejects (a process gone reads 0).
   */
  async sampleMemory(): Promise<void> {
    const pids = [this.pid, this.groups.runtimeLeader].filter((pid) => pid > 1);
    const sizes = await Promise.all(pids.map((pid) => readRssBytes(pid)));
    this.rssBytes = sizes.reduce((a, b) => a + b, 0);
  }

  /**
   * A sample of the running script's stack for the slow log; never rejects (worker-samples.ts).
   */
  stackSample(): Promise<StackSample> {
    return this.stacks.sample(this.groups.runtimeLeader);
  }

  /** Kills the worker (SIGKILL); its requests are answered by the pool. */
  kill(reason: KillReason): void {
    this.killReason ??= reason;
    this.state = 'exiting';
    this.child.kill('SIGKILL');
  }

  private arm(channel: WorkerChannel, ms: number, reason: KillReason): void {
    clearTimeout(this.timers.get(channel));
    this.timers.set(channel, setTimeout(() => { this.kill(reason); }, ms));
  }

  /** A channel took `request`: arm the `request_terminate_timeout` backstop and the slowlog. */
  private onStarted(channel: WorkerChannel, request: RelayRequest): void {
    this.busyChannels += 1;
    this.lastRequest = request;
    this.lastRequestEndedAtMs = 0;
    request.workerPid = this.pid;
    if (this.busyChannels === 1) this.usage.started(this.usagePids());
    const limitMs = this.options.pool.requestTerminateTimeoutMs;
    if (limitMs > 0) this.arm(channel, limitMs + TERMINATE_MARGIN_MS, 'timeout');
    const slowMs = this.options.pool.requestSlowlogTimeoutMs;
    if (slowMs > 0) {
      this.slowTimers.set(channel, setTimeout(() => {
        this.options.events.slow(this, request, this.options.now() - request.startedAtMs);
      }, slowMs));
    }
    if (this.busyChannels === 1) this.options.events.busy(this);
  }

  /** The worker's END_REQUEST came: what the request used, before its access line is written. */
  private onEnding(request: RelayRequest): void {
    if (this.busyChannels !== 1) return;
    const usage = this.usage.ending(this.usagePids());
    if (usage === undefined) return;
    request.usage = usage;
    this.lastUsage = usage;
  }

  /** The worker and its persistent runtime leader (the python runner), whose CPU a request uses. */
  private usagePids(): number[] {
    const leader = this.groups.runtimeLeader;
    return leader > 1 ? [this.pid, leader] : [this.pid];
  }

  private onFinished(channel: WorkerChannel): void {
    clearTimeout(this.timers.get(channel));
    this.timers.delete(channel);
    if (this.slowTimers.size > 0) {
      clearTimeout(this.slowTimers.get(channel));
      this.slowTimers.delete(channel);
    }
    this.busyChannels -= 1;
    if (!this.busy) {
      this.idleSinceMs = this.options.now();
      this.lastRequestEndedAtMs = this.idleSinceMs;
    }
    if (channel === this.channels[0]) this.groups.requestEnded();
    this.served += 1;
    if (this.state === 'running') this.options.events.free(this, channel);
    else if (this.stopOnceIdle && !this.busy) {
      this.stopOnceIdle = false;
      this.send({ type: 'stop' });
    }
  }

  private onMessage(message: unknown): void {
    if (!hasType(message)) return;
    if (message.type === 'ready' && this.state === 'spawning') {
      this.state = 'running';
      this.readyAtMs = this.options.now();
      this.idleSinceMs = this.readyAtMs;
      this.options.events.ready(this);
    } else if (message.type === 'ready' && this.state === 'exiting' && this.killReason === undefined) {
      // Told to stop while it was starting: the worker listens for `stop` only once its
      // runtime is loaded, so that message was dropped. Say it again, or it never leaves.
      this.send({ type: 'stop' });
    } else if (message.type === 'cgi-group') {
      this.onCgiGroup(message as { requestId?: unknown; pgid?: unknown; persistent?: unknown });
    } else if (message.type === 'recycle') {
      const { reason, rssBytes } = message as { reason?: unknown; rssBytes?: unknown };
      this.options.events.recycle(this, String(reason), typeof rssBytes === 'number' ? rssBytes : 0);
    } else if (message.type === 'stack') {
      this.stacks.answered(message);
    } else if (message.type === 'start-failed') {
      this.startFailure = String((message as { message?: unknown }).message);
    }
  }

  /** A worker names a process group to kill should it die: data, checked (worker-groups.ts). */
  private onCgiGroup(message: { requestId?: unknown; pgid?: unknown; persistent?: unknown }): void {
    const first = this.channels[0];
    this.groups.claim(message, this.pid, first?.request !== undefined ? first.channelId : undefined);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.gone) return;
    this.gone = true;
    for (const timer of [...this.timers.values(), ...this.slowTimers.values()]) clearTimeout(timer);
    this.state = 'exiting';
    const requests: RelayRequest[] = [];
    for (const channel of this.channels) {
      const request = channel.close();
      if (request !== undefined) requests.push(request);
    }
    this.busyChannels = 0;
    // The worker is gone: its request's CGI process group must not outlive it.
    this.groups.killAll(this.pid);
    this.options.events.exited(this, {
      code, signal, requests, killReason: this.killReason, startFailure: this.startFailure,
    });
  }

  private send(message: SupervisorMessage): void {
    if (this.control?.open !== true) return;
    this.control.send(message, (err) => {
      if (err !== null) this.options.log.warn({ err, workerPid: this.pid }, 'worker ipc send failed');
    });
  }
}
