// This file implements the opening of a `dispatch = "direct"` pool's listener from the
// perspective of the supervisor: bound like every listener (listeners.ts), then held paused
// (listen-holder.ts) so that only the pool's workers accept on it; each worker is spawned with
// the held socket as a stdio entry.
import { dirname, join } from 'node:path';
import type { PoolConfig } from '../../config/schema.ts';
import type { Listener } from '../listen/listeners.ts';
import { holdListener } from '../listen/listen-holder.ts';
import type { SpawnFn } from '../pool/worker-handle.ts';

/** True when the pools on one address accept directly (validation keeps such a pool alone). */
export function isDirect(group: readonly PoolConfig[]): boolean {
  return group.some((p) => p.dispatch === 'direct');
}

/** The built courier (`dist/supervisor/listen/fd-courier.js`), next to the built worker entry. */
export function courierMain(workerMain: string): string {
  return join(dirname(workerMain), '..', 'supervisor', 'listen', 'fd-courier.js');
}

/**
 * `listener` with its socket held for the workers of its direct pool, its server closed.
 * @throws DaemonError `ERR_LISTEN` (listen-holder.ts)
 */
export async function holdDirect(listener: Listener, workerMain: string, spawn: SpawnFn): Promise<Listener> {
  const first = listener.pools[0];
  if (first === undefined) return listener;
  const held = await holdListener(listener.server, first.listen.address, courierMain(workerMain), spawn);
  return { ...listener, held };
}
