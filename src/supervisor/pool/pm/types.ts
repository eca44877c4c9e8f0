// This file implements the contract of the process-manager policies from the perspective of a
// pool asking "how many workers should I start or stop now?": a snapshot in, a decision out.
// Policies are pure functions (no timers, no processes), so they are tested under fake time.

/** One ready, idle worker as the policy sees it. */
export interface IdleWorker {
  /** The worker's pid (its identity in a decision). */
  readonly pid: number;
  /** When it last became idle, ms on the pool's clock. */
  readonly idleSinceMs: number;
}

/** The pool's state at one instant. Workers being retired are not counted. */
export interface PmSnapshot {
  readonly nowMs: number;
  /** Workers forked and not yet ready. */
  readonly spawning: number;
  /** Ready workers with every channel free, oldest-idle first. */
  readonly idle: readonly IdleWorker[];
  /** Ready workers running at least one request. */
  readonly busy: number;
  /** Requests waiting for a worker. */
  readonly queued: number;
}

/** The `pm.*` settings a policy reads. @see PHP-FPM `pm`, `pm.*` */
export interface PmSettings {
  readonly mode: 'static' | 'dynamic' | 'ondemand';
  readonly maxChildren: number;
  readonly startServers: number;
  readonly minSpareServers: number;
  readonly maxSpareServers: number;
  readonly processIdleTimeoutMs: number;
}

/** What to do now, and when to look again. */
export interface PmDecision {
  /** Workers to fork now. */
  readonly spawn: number;
  /** Idle workers to stop now (pids). */
  readonly stop: readonly number[];
  /** Look again after this many ms even if nothing happens (an idle deadline), if any. */
  readonly recheckInMs?: number;
}

/** Total workers counted against `pm.max_children`. */
export function totalOf(s: PmSnapshot): number {
  return s.spawning + s.idle.length + s.busy;
}
