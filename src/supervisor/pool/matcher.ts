// This file implements a pool's matcher of waiting requests and free worker channels, from the
// perspective of a request looking for a worker (undici's pool-base shape): the queue and the
// idle set live together, a request takes an idle channel or waits, and a freed channel takes
// the request that waited longest. Only the choice of channel is a policy (the most recently
// freed: hot workers stay hot). Every step is O(1); one timer per pool bounds the waits.
import type { RelayRequest } from '../relay/relay-request.ts';
import type { WorkerChannel } from '../relay/worker-channel.ts';
import { Fifo } from './fifo.ts';

/** What the matcher tells its pool. */
export interface MatcherHooks {
  readonly now: () => number;
  /** Longest a request may wait, in ms; 0 = no limit (`queue.timeout`). */
  readonly queueTimeoutMs: number;
  /** A request left the queue for a channel after `waitMs`. */
  waited(waitMs: number): void;
  /** A request waited `queue.timeout` and left the queue: answer it. */
  expired(request: RelayRequest): void;
}

/** The queue and the idle channels of one pool. */
export class Matcher {
  readonly #hooks: MatcherHooks;
  /** Requests in arrival order; one that left meanwhile (aborted) is skipped when reached. */
  readonly #queue = new Fifo<RelayRequest>();
  /** The requests waiting here now: exact, whatever order they leave in. */
  readonly #waiting = new Set<RelayRequest>();
  /** Free channels, most recently freed last. */
  readonly #idle: WorkerChannel[] = [];
  /** Fires at (or before) the head's deadline; finds what expired and looks again. */
  #timer: NodeJS.Timeout | undefined;

  constructor(hooks: MatcherHooks) {
    this.#hooks = hooks;
  }

  /** Requests waiting now. O(1). */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * Whether any request still waits, looking at each (O(queue): for a stopping pool): exact even
   * when a withdrawal could not reach this pool (a reload removed it while a request waited here).
   */
  hasWaiting(): boolean {
    for (const request of this.#waiting) {
      if (request.state === 'queued') return true;
      this.#waiting.delete(request);
    }
    return false;
  }

  /**
   * Runs `request` on the most recently freed channel.
   * @returns false when no channel is free (the caller queues or refuses it)
   */
  run(request: RelayRequest): boolean {
    const channel = this.#idle.pop();
    if (channel === undefined) return false;
    // A request that can no longer run (over meanwhile) leaves the channel free.
    if (!channel.run(request)) this.#idle.push(channel);
    return true;
  }

  /** `request` waits for a channel, from now. */
  enqueue(request: RelayRequest): void {
    request.queue(this.#hooks.now());
    this.#queue.push(request);
    this.#waiting.add(request);
    if (this.#timer === undefined && this.#hooks.queueTimeoutMs > 0) {
      this.#timer = setTimeout(this.#expire, this.#hooks.queueTimeoutMs);
    }
  }

  /** A queued request left (the web server gave up): it no longer waits here; it is skipped later. */
  withdraw(request: RelayRequest): void {
    this.#waiting.delete(request);
  }

  /**
   * A channel is free: the request that waited longest runs on it.
   * @returns false when none waits (the caller parks the channel, or retires its worker)
   */
  next(channel: WorkerChannel): boolean {
    for (let request = this.#queue.shift(); request !== undefined; request = this.#queue.shift()) {
      // Withdrawn or answered meanwhile: skipped.
      if (!this.#waiting.delete(request) || request.state !== 'queued') continue;
      this.#hooks.waited(this.#hooks.now() - request.queuedAtMs);
      if (channel.run(request)) return true;
    }
    return false;
  }

  /** Keeps a free channel for the next request. */
  park(channel: WorkerChannel): void {
    this.#idle.push(channel);
  }

  /** Drops the idle channels among `channels` (their worker is leaving). */
  forget(channels: readonly WorkerChannel[]): void {
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      const channel = this.#idle[i];
      if (channel !== undefined && channels.includes(channel)) this.#idle.splice(i, 1);
    }
  }

  /** Drops every idle channel (the pool is stopping). */
  forgetAll(): void {
    this.#idle.length = 0;
  }

  /** Takes every waiting request, in order (a reload hands them over; a dead pool answers them). */
  takeAll(): RelayRequest[] {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const waiting = this.#queue.drain().filter((request) => this.#waiting.has(request) && request.state === 'queued');
    this.#waiting.clear();
    return waiting;
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const timeoutMs = this.#hooks.queueTimeoutMs;
    for (let head = this.#queue.peek(); head !== undefined; head = this.#queue.peek()) {
      const live = this.#waiting.has(head) && head.state === 'queued';
      if (live) {
        const leftMs = head.queuedAtMs + timeoutMs - this.#hooks.now();
        if (leftMs > 0) {
          this.#timer = setTimeout(this.#expire, leftMs);
          return;
        }
      }
      this.#queue.shift();
      this.#waiting.delete(head);
      if (live) this.#hooks.expired(head);
    }
  };
}
