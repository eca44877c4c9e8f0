// This file implements `pm = dynamic` from the perspective of a pool: keep between
// `pm.min_spare_servers` and `pm.max_spare_servers` idle workers, fork for queued requests up
// to `pm.max_children`, and stop surplus idle workers once they have been idle a moment (so a
// burst does not make workers flap).
import { totalOf, type PmDecision, type PmSettings, type PmSnapshot } from './types.ts';

/** A surplus idle worker is stopped only after being idle this long (PHP-FPM checks each second). */
export const SPARE_GRACE_MS = 1000;

/** @see PHP-FPM `pm = dynamic`, `pm.min_spare_servers`, `pm.max_spare_servers` */
export function decideDynamic(settings: PmSettings, s: PmSnapshot): PmDecision {
  const room = Math.max(0, settings.maxChildren - totalOf(s));
  const spareShort = settings.minSpareServers - (s.idle.length + s.spawning);
  const demand = s.queued - s.spawning;
  const spawn = Math.min(room, Math.max(0, spareShort, demand));
  if (spawn > 0 || s.queued > 0) return { spawn, stop: [] };
  const surplus = s.idle.length - settings.maxSpareServers;
  if (surplus <= 0) return { spawn: 0, stop: [] };
  const stop: number[] = [];
  let recheckInMs: number | undefined;
  for (const worker of s.idle.slice(0, surplus)) {
    const idleMs = s.nowMs - worker.idleSinceMs;
    if (idleMs >= SPARE_GRACE_MS) stop.push(worker.pid);
    else recheckInMs = Math.min(recheckInMs ?? Infinity, SPARE_GRACE_MS - idleMs);
  }
  return recheckInMs === undefined ? { spawn: 0, stop } : { spawn: 0, stop, recheckInMs };
}
