// This file implements `pm = ondemand` from the perspective of a pool: no worker until a
// request waits for one, one more per waiting request up to `pm.max_children`, and a worker
// idle for `pm.process_idle_timeout` is stopped (so an unused pool costs nothing).
import { totalOf, type PmDecision, type PmSettings, type PmSnapshot } from './types.ts';

/** @see PHP-FPM `pm = ondemand`, `pm.process_idle_timeout` */
export function decideOndemand(settings: PmSettings, s: PmSnapshot): PmDecision {
  const room = Math.max(0, settings.maxChildren - totalOf(s));
  const spawn = Math.min(room, Math.max(0, s.queued - s.spawning));
  const stop: number[] = [];
  let recheckInMs: number | undefined;
  for (const worker of s.idle) {
    const idleMs = s.nowMs - worker.idleSinceMs;
    if (idleMs >= settings.processIdleTimeoutMs) stop.push(worker.pid);
    else recheckInMs = Math.min(recheckInMs ?? Infinity, settings.processIdleTimeoutMs - idleMs);
  }
  return recheckInMs === undefined ? { spawn, stop } : { spawn, stop, recheckInMs };
}
