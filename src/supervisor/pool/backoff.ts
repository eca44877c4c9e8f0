// This file implements a pool's crash backoff from the perspective of a supervisor that must
// never busy-loop on a worker that cannot start: the first death is replaced at once, repeated
// ones wait 1 s, 2 s, 4 s … up to 60 s (with ±20 % jitter), and one success clears it.

/** Smallest and largest delay between respawns while backing off, in ms. */
export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 60_000;

/** What changed with one event, so the caller logs once per state change. */
export type BackoffChange = 'entered' | 'recovered' | undefined;

/** The backoff state of one pool. `random` is injected for tests. */
export class CrashBackoff {
  failures = 0;
  /** Earliest time (ms) the next worker may be forked. */
  untilMs = 0;
  delayMs = 0;
  lastFailure: string | undefined;
  private readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  /** True while respawns are being slowed down. */
  get active(): boolean {
    return this.failures > 1;
  }

  /** A worker died young (before or right after it was ready). */
  failed(nowMs: number, cause: string | undefined): BackoffChange {
    const wasActive = this.active;
    this.failures += 1;
    this.lastFailure = cause ?? this.lastFailure;
    if (!this.active) return undefined;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.failures - 2));
    const jittered = base * (0.8 + 0.4 * this.random());
    this.delayMs = Math.round(Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, jittered)));
    this.untilMs = nowMs + this.delayMs;
    return wasActive ? undefined : 'entered';
  }

  /** A worker proved healthy (finished a request, or stayed up): respawn at once again. */
  succeeded(): BackoffChange {
    const wasActive = this.active;
    this.failures = 0;
    this.delayMs = 0;
    this.untilMs = 0;
    this.lastFailure = undefined;
    return wasActive ? 'recovered' : undefined;
  }

  /** Milliseconds until a fork is allowed (0 = now). */
  waitMs(nowMs: number): number {
    return this.active ? Math.max(0, this.untilMs - nowMs) : 0;
  }
}
