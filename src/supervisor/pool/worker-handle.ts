// This file implements the supervisor's handle on one worker process, from the perspective of
// its pool: it forks the worker (worker-spawn.ts) with its FastCGI channels and a control
// channel, acts on its control messages (worker-messages.ts), tracks its life (spawning →
// running → exiting) and how many of its channels are busy, keeps the per-request backstops
// (channel-backstops.ts), and on exit hands back the requests it held and kills the CGI
// process group it reported.
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { CHANNEL_FD, channelCount, controlFd, workerPool, type SupervisorMessage } from '../../worker/ipc.ts';
import { ControlChannel, WORKER_LINE_MAX_BYTES } from '../../worker/control-channel.ts';
import type { RequestUsage } from './request-usage.ts';
import type { StackSample } from './python-stack.ts';
import { residentBytes, StackSampler, UsageMeter } from './worker-samples.ts';
import { WorkerGroups } from './worker-groups.ts';
import type { RelayRequest } from '../relay/relay-request.ts';
import { WorkerChannel, type ChannelEvents } from '../relay/worker-channel.ts';
import { ChannelBackstops, type BackstopActions, type KillReason } from './channel-backstops.ts';
import { spawnWorker } from './worker-spawn.ts';
import { readWorkerMessage, type WorkerMessageActions } from './worker-messages.ts';
import { DirectWatch } from './direct-watch.ts';
import type { WorkerEventsOf, WorkerOptionsOf } from './worker-options.ts';

/** Worker life: forked but not yet ready, serving (some channel may be busy), on its way out. */
export type WorkerState = 'spawning' | 'running' | 'exiting';

export type { SpawnFn } from './worker-spawn.ts';

export type { KillReason } from './channel-backstops.ts';

export type { WorkerExit } from './worker-options.ts';
/** What a worker handle reports to its pool (worker-options.ts). */
export type WorkerEvents = WorkerEventsOf<WorkerHandle>;
/** Everything needed to fork one worker of a pool (worker-options.ts). */
export type WorkerOptions = WorkerOptionsOf<WorkerHandle>;

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
  /** Each channel's backstop timers (channel-backstops.ts). */
  private readonly backstops = new Map<WorkerChannel, ChannelBackstops>();
  /** Slow-log stack samples (worker-samples.ts). */
  private readonly stacks: StackSampler;
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
  /** `dispatch = "direct"`: the heartbeat and the scoreboard it reads (direct-watch.ts). */
  readonly direct: DirectWatch | undefined;

  constructor(options: WorkerOptions) {
    this.options = options;
    this.spawnedAtMs = options.now();
    // The worker and its persistent runtime leader (the python runner), whose CPU a request uses.
    this.usage = new UsageMeter(options.pool, options.now, () => [this.pid, this.groups.runtimeLeader]);
    this.groups = new WorkerGroups(options.pool, options.log);
    this.stacks = new StackSampler(options.pool, (message) => { this.send(message); }, options.now);
    const count = channelCount(options.pool);
    const fd = controlFd(options.pool);
    this.child = spawnWorker(options.spawn, options.pool, options.workerMain, fd, options.env, options.listenSocket?.());
    this.pid = this.child.pid ?? 0;
    const events: ChannelEvents = {
      started: (channel, request) => { this.onStarted(channel, request); },
      finished: (channel) => { this.onFinished(channel); },
      ending: (_channel, request) => { this.onEnding(request); },
      // The web server went away: the worker must end the request within the grace, or die.
      aborted: (channel) => { this.backstops.get(channel)?.aborted(); },
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
    const actions: BackstopActions = {
      kill: (reason) => { this.kill(reason); },
      slow: (request) => { options.events.slow(this, request, options.now() - request.startedAtMs); },
    };
    for (const channel of this.channels) this.backstops.set(channel, new ChannelBackstops(actions));
    this.control = spawned ? new ControlChannel(this.child.stdio[fd] as Socket, {
      message: (message) => { readWorkerMessage(message, this.messages); },
      invalid: (reason) => {
        options.log.error({ workerPid: this.pid, reason }, 'worker control message refused');
        this.kill('protocol');
      },
      close: () => undefined,
    }, WORKER_LINE_MAX_BYTES) : undefined;
    this.child.on('error', (err) => {
      options.log.error({ err, workerPid: this.pid }, 'worker spawn failed');
      if (spawned || this.gone) return;
      // Not spawned at all (no 'exit' follows): for a python pool the worker is the pool's
      // interpreter itself, so a missing one is the pool's start failure, retried with backoff.
      this.startFailure ??= options.pool.runtime === 'python'
        ? `runtime: ${options.pool.runtime}: cannot start "${this.child.spawnfile}": ${err.message}`
        : `spawn failed: ${err.message}`;
      this.onExit(null, null);
    });
    this.direct = options.pool.dispatch !== 'direct' ? undefined : new DirectWatch(options.pool.requestTerminateTimeoutMs, {
      now: options.now, log: options.log.child({ workerPid: this.pid }),
      actions: { send: (m) => { this.send(m); }, kill: () => { this.kill('timeout'); } },
    });
    this.child.once('exit', (code, signal) => { this.onExit(code, signal); });
    const { pool, logLevel, pretty, maxRequests, tempPath } = options;
    const direct = this.direct === undefined ? {} : { maxRequests, ...(tempPath === undefined ? {} : { tempPath }) };
    if (this.pid !== 0) this.send({ type: 'pool', pool: workerPool(pool), logLevel, pretty, ...direct });
  }

  /** True once `pm.max_requests` is reached: the pool replaces the worker. */
  get exhausted(): boolean {
    return this.options.maxRequests > 0 && this.served >= this.options.maxRequests;
  }

  /** True while any channel carries a request. */
  get busy(): boolean {
    return this.direct === undefined ? this.busyChannels > 0 : this.direct.active.length > 0;
  }

  /**
   * Asks the worker to exit (graceful), via IPC, once its requests have ended: a `stop` that
   * overlaps a request (one the worker has not read yet, or whose END_REQUEST it has not
   * flushed yet) made the worker leave without answering it (a 502 or a cut response).
   */
  stop(): void {
    if (this.state === 'exiting') return;
    this.state = 'exiting';
    // A direct worker finishes what it accepted itself: told at once.
    if (this.busy && this.direct === undefined) this.stopOnceIdle = true;
    else this.send({ type: 'stop' });
  }

  /**
   * Reads the resident memory of the worker and of its persistent runtime children (the python
   * runners, one per interpreter) from /proc into {@link rssBytes}; never rejects (a process
   * gone reads 0).
   */
  async sampleMemory(): Promise<void> {
    this.rssBytes = await residentBytes([this.pid, ...this.groups.runtimeLeaders]);
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

  /** A channel took `request`: arm the `request_terminate_timeout` backstop and the slowlog. */
  private onStarted(channel: WorkerChannel, request: RelayRequest): void {
    this.busyChannels += 1;
    this.lastRequest = request;
    this.lastRequestEndedAtMs = 0;
    request.workerPid = this.pid;
    if (this.busyChannels === 1) this.usage.started();
    const { pool } = this.options;
    this.backstops.get(channel)?.started(request, pool.requestTerminateTimeoutMs, pool.requestSlowlogTimeoutMs);
    if (this.busyChannels === 1) this.options.events.busy(this);
  }

  /** The worker's END_REQUEST came: what the request used, before its access line is written. */
  private onEnding(request: RelayRequest): void {
    if (this.busyChannels !== 1) return;
    const usage = this.usage.ending();
    if (usage === undefined) return;
    request.usage = usage;
    this.lastUsage = usage;
  }

  private onFinished(channel: WorkerChannel): void {
    this.backstops.get(channel)?.finished();
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

  /** What each control message of the worker does (worker-messages.ts). */
  private readonly messages: WorkerMessageActions = {
    ready: () => { this.onReady(); },
    // A worker names a process group to kill should it die: data, checked (worker-groups.ts).
    cgiGroup: (claim) => {
      const first = this.channels[0];
      this.groups.claim(claim, this.pid, first?.request !== undefined ? first.channelId : undefined);
    },
    recycle: (reason, rssBytes) => { this.options.events.recycle(this, reason, rssBytes); },
    stack: (message) => { this.stacks.answered(message); },
    startFailed: (message) => { this.startFailure = message; },
    state: (message) => {
      if (this.direct === undefined) return;
      this.direct.answered(message);
      this.served = this.direct.requests;
    },
  };

  private onReady(): void {
    if (this.state === 'spawning') {
      this.state = 'running';
      this.readyAtMs = this.options.now();
      this.idleSinceMs = this.readyAtMs;
      this.direct?.start();
      this.options.events.ready(this);
    } else if (this.state === 'exiting' && this.killReason === undefined) {
      // Told to stop while it was starting: the worker listens for `stop` only once its
      // runtime is loaded, so that message was dropped. Say it again, or it never leaves.
      this.send({ type: 'stop' });
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.gone) return;
    this.gone = true;
    this.direct?.stop();
    for (const backstops of this.backstops.values()) backstops.close();
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
