// This file implements a pool's counters from the perspective of an operator reading
// `cgi-fpm status`: what PHP-FPM's status page counts (accepted, listen queue, max children
// reached, slow requests), plus queue waits measured in the supervisor, overloads, restarts,
// recycling, and the overload log line written at most once a second.
import { Histogram } from 'prom-client';
import type { Logger } from '../../log/logger.ts';

/** Upper bounds of the request-duration histogram, in seconds (prom-client's defaults, plus 30 and 60). */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Mutable counters of one pool (see `PoolStatus` for their meaning). */
export class PoolStats {
  accepted = 0;
  overloaded = 0;
  maxChildrenReached = 0;
  slowRequests = 0;
  restarts = 0;
  /** Forks that replaced a worker (died, killed, recycled, restarted). */
  respawns = 0;
  /** Forks the pm policy made to grow the pool. */
  scaleUps = 0;
  /** Workers that died without being asked to. */
  crashes = 0;
  /** Workers the supervisor killed (timeout, abort not honoured, protocol error). */
  killed = 0;
  /** Workers gone whose replacement has not been forked yet (the next fork is a respawn). */
  replacementsOwed = 0;
  /** Most workers busy at once. @see FPM `max active processes` */
  maxActive = 0;
  recycled = 0;
  /**
   * Time from a request's params to its end (answered or relayed), every request of the pool,
   * in seconds; registered in no registry (the status page's openmetrics registry takes it).
   */
  readonly durations = new Histogram({
    name: 'cgifpm_request_duration_seconds', help: 'Time from the request\'s params to its end, in seconds.',
    buckets: DURATION_BUCKETS_S, registers: [],
  });
  maxQueueLength = 0;
  maxQueueWaitMs = 0;
  totalQueueWaitMs = 0;
  private overloadsUnlogged = 0;
  private overloadLoggedAtMs = -Infinity;
  private overloadTimer: NodeJS.Timeout | undefined;

  /** A request left the queue after `waitMs`. */
  waited(waitMs: number): void {
    this.totalQueueWaitMs += waitMs;
    if (waitMs > this.maxQueueWaitMs) this.maxQueueWaitMs = waitMs;
  }

  /** A fork after the pool started: a respawn when a worker is owed a replacement, else a scale-up. */
  forked(): void {
    this.restarts += 1;
    if (this.replacementsOwed > 0) {
      this.replacementsOwed -= 1;
      this.respawns += 1;
    } else this.scaleUps += 1;
  }

  /** `count` workers are busy now. */
  activeNow(count: number): void {
    if (count > this.maxActive) this.maxActive = count;
  }

  /** The queue grew to `length`. */
  queuedTo(length: number): void {
    if (length > this.maxQueueLength) this.maxQueueLength = length;
  }

  /**
   * Counts one 503 and logs `pool overloaded` at most once a second, with the number of 503s
   * since the last line (the rest are summed into the next line, flushed within a second).
   */
  overload(log: Logger, nowMs: number, fields: Record<string, unknown>): void {
    this.overloaded += 1;
    this.overloadsUnlogged += 1;
    if (nowMs - this.overloadLoggedAtMs >= 1000) {
      this.flushOverloads(log, nowMs, fields);
      return;
    }
    this.overloadTimer ??= setTimeout(() => {
      this.overloadTimer = undefined;
      this.flushOverloads(log, this.overloadLoggedAtMs + 1000, fields);
    }, 1000 - (nowMs - this.overloadLoggedAtMs));
    this.overloadTimer.unref();
  }

  private flushOverloads(log: Logger, nowMs: number, fields: Record<string, unknown>): void {
    if (this.overloadsUnlogged === 0) return;
    log.warn({ ...fields, count: this.overloadsUnlogged, total: this.overloaded }, 'pool overloaded');
    this.overloadsUnlogged = 0;
    this.overloadLoggedAtMs = nowMs;
  }
}
