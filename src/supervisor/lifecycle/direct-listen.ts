// This file implements the opening of a `dispatch = "direct"` pool's listener from the
// perspective of the supervisor: bound like every listener (listeners.ts), then held paused
// (listen-holder.ts) so that only the pool's workers accept on it; each worker is spawned with
// the held socket as a stdio entry.
import { dirname, join } from 'node:path';
import type { PoolConfig } from '../../config/schema.ts';
import type { Server, Socket } from 'node:net';
import { DaemonError, ErrorCode } from '../../errors.ts';
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
 * Holds a direct pool's freshly bound `server` for its workers (listen-holder.ts): to be called
 * in the listen callback, before anything awaits, so that the supervisor never accepts on it.
 * @returns the held socket, once the courier sent it back
 * @throws DaemonError `ERR_LISTEN` (listen-holder.ts)
 */
export function holdDirect(server: Server, pool: PoolConfig, workerMain: string, spawn: SpawnFn): Promise<Socket> {
  return holdListener(server, pool.listen.address, courierMain(workerMain), spawn);
}

/** A direct pool's hold: `onBound` for openListener, `held` once the listener is open. */
export interface DirectHold {
  readonly onBound: (server: Server) => void;
  /** The held socket. @throws DaemonError `ERR_LISTEN` (rejects) when it was not held */
  readonly held: () => Promise<Socket>;
}

/** The hold of `group`'s listener when its pool accepts directly, else `undefined`. */
export function directHold(group: readonly PoolConfig[], workerMain: string, spawn: SpawnFn): DirectHold | undefined {
  const direct = group.find((p) => p.dispatch === 'direct');
  if (direct === undefined) return undefined;
  let holding: Promise<Socket> | undefined;
  return {
    // The socket is held as soon as it is bound: the supervisor never accepts on it.
    onBound: (server) => { holding = holdDirect(server, direct, workerMain, spawn); },
    held: () => holding ?? Promise.reject(new DaemonError(ErrorCode.ERR_LISTEN, `listen: direct: pool "${direct.name}": the socket was not bound`)),
  };
}
