// This file implements one worker's line of the status page's `full` view from the perspective
// of an operator asking "which script is this worker stuck on, and for how long?": PHP-FPM's
// per-process fields (pid, state, start time, requests, request duration, method, URI, content
// length, user, script), read from the worker's handle and the request it runs or last ran.
import type { WorkerStatus, WorkerStatusState } from '../status.ts';
import type { WorkerHandle } from './worker-handle.ts';
import type { DirectWatch } from './direct-watch.ts';

/** A worker's state in the words of PHP-FPM's status page (`Idle`, `Running`). */
export function workerStatusState(worker: WorkerHandle): WorkerStatusState {
  switch (worker.state) {
    case 'spawning':
      return 'Starting';
    case 'running':
      return worker.busy ? 'Running' : 'Idle';
    case 'exiting':
      return 'Exiting';
  }
}

/**
 * The `full` view of `worker` at `nowMs` (ms on the pool's clock). Request fields are those of
 * the request running now, else of the last one (empty strings and 0 before the first).
 * @see PHP-FPM status page, `full` (`sapi/fpm/fpm/fpm_status.c`)
 */
export function workerStatus(worker: WorkerHandle, nowMs: number): WorkerStatus {
  if (worker.direct !== undefined) return directWorkerStatus(worker, worker.direct);
  const request = worker.lastRequest;
  const params = request?.params;
  const text = (name: string): string => params?.get(name)?.toString('latin1') ?? '';
  const endMs = worker.lastRequestEndedAtMs === 0 ? nowMs : worker.lastRequestEndedAtMs;
  const contentLength = Number(text('CONTENT_LENGTH'));
  const user = text('REMOTE_USER');
  return {
    pid: worker.pid,
    state: workerStatusState(worker),
    startedAtMs: worker.spawnedAtMs,
    requests: worker.served,
    requestDurationUs: request === undefined ? 0 : Math.max(0, Math.round((endMs - request.startedAtMs) * 1000)),
    requestMethod: text('REQUEST_METHOD'),
    requestUri: text('REQUEST_URI'),
    contentLength: Number.isSafeInteger(contentLength) && contentLength > 0 ? contentLength : 0,
    user: user === '' ? '-' : user,
    script: request?.route?.scriptFilename.toString() ?? '',
    ...(worker.lastUsage === undefined || worker.lastRequestEndedAtMs === 0 ? {} : {
      lastRequestCpu: worker.lastUsage.cpuPercent, lastRequestMemoryBytes: worker.lastUsage.memoryBytes,
    }),
    ...(worker.rssBytes === undefined ? {} : { rssBytes: worker.rssBytes }),
  };
}

/**
 * The `full` view of a `dispatch = "direct"` worker: what its last heartbeat answer told (the
 * request running longest, else the last one), as precise as the heartbeat period.
 */
function directWorkerStatus(worker: WorkerHandle, direct: DirectWatch): WorkerStatus {
  const running = direct.oldest();
  const request = running?.request ?? direct.last;
  const durationMs = running?.elapsedMs ?? direct.last?.durationMs ?? 0;
  return {
    pid: worker.pid, state: workerStatusState(worker), startedAtMs: worker.spawnedAtMs, requests: direct.requests,
    requestDurationUs: Math.max(0, Math.round(durationMs * 1000)),
    requestMethod: request?.method ?? '', requestUri: request?.uri ?? '', contentLength: 0, user: '-',
    script: request?.script ?? '',
    ...(worker.rssBytes === undefined ? {} : { rssBytes: worker.rssBytes }),
  };
}
