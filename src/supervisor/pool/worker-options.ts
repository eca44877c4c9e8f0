// This file implements the shapes a pool and a worker handle exchange, from the perspective of
// the pool that forks workers: what it passes one (`WorkerOptions`), what the handle reports
// back (`WorkerEvents`), and how a worker ended (`WorkerExit`). The handle is worker-handle.ts,
// which names these shapes with itself as `W` (so this file imports nothing from it: no circle).
import type { Socket } from 'node:net';
import type { PoolConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import type { RelayRequest } from '../relay/relay-request.ts';
import type { WorkerChannel } from '../relay/worker-channel.ts';
import type { KillReason } from './channel-backstops.ts';
import type { SpawnFn } from './worker-spawn.ts';

/** What a worker handle (`W`: worker-handle.ts's `WorkerHandle`) reports to its pool. */
export interface WorkerEventsOf<W> {
  /** The worker said ready: each of its channels is free. */
  ready(worker: W): void;
  /** The worker asks to be replaced after its request (`pm.max_memory` passed). */
  recycle(worker: W, reason: string, rssBytes: number): void;
  /** A request passed `request_slowlog_timeout` and is still running. */
  slow(worker: W, request: RelayRequest, elapsedMs: number): void;
  /** The first of its channels took a request (the worker was idle). */
  busy(worker: W): void;
  /** A channel's request ended: the channel is free (and the worker idle if `!worker.busy`). */
  free(worker: W, channel: WorkerChannel): void;
  exited(worker: W, info: WorkerExit): void;
}

/** How a worker ended, and the requests it held then. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly requests: readonly RelayRequest[];
  readonly killReason: KillReason | undefined;
  readonly startFailure: string | undefined;
}

/** Everything needed to fork one worker (`W`: worker-handle.ts's `WorkerHandle`) of a pool. */
export interface WorkerOptionsOf<W> {
  readonly pool: PoolConfig;
  readonly spawn: SpawnFn;
  /** Absolute path of the built worker entry (`dist/worker/main.js`). */
  readonly workerMain: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logLevel: string;
  readonly pretty: boolean;
  readonly log: Logger;
  readonly events: WorkerEventsOf<W>;
  readonly now: () => number;
  /** This worker's `pm.max_requests` limit (jitter applied by the pool); 0 = none. */
  readonly maxRequests: number;
  /**
   * `[global] fastcgi_temp_path`: where a direct worker spills the output it holds (read when
   * the worker starts); `undefined`: the system's temporary directory.
   */
  readonly tempPath?: string | undefined;
  /** `dispatch = "direct"`: the pool's listening socket, held for its workers (listen-holder.ts). */
  readonly listenSocket?: () => Socket | undefined;
}
