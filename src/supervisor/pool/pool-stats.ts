// This file implements a pool's counters from the perspective of an operator reading
// `cgi-fpm status`: what PHP-FPM's status page counts (accepted, listen queue, max children
// reached, slow requests), plus queue waits measured in the supervisor, overloads, restarts,
// recycling, and the overload log line written at most once a second.
import type { Logger } from '../../log/logger.ts';

/** Mutable counters of one pool (see `PoolStatus` for their meaning). */
export class PoolStats {
  accepted = 0;
  overloaded = 0;
  maxChildrenReached = 0;
  slowRequests = 0;
  restarts = 0;
  recycled = 0;
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
