// This file implements the checking of the daemon's control replies from the perspective of
// the CLI, which may be a newer or older cgi-fpm than the daemon it asks: a reply of the wrong
// shape is refused with the field that is wrong, never printed as `undefined`.

import { z } from 'zod';
import { ControlError, ErrorCode } from '../errors.ts';
import type { StatusReply } from '../supervisor/control/control-protocol.ts';
import type { BackoffStatus, DaemonStatus, PoolStatus, ReloadResult, WorkerStatus } from '../supervisor/status.ts';

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();

const backoffSchema: z.ZodType<BackoffStatus> = z.looseObject({
  state: z.enum(['none', 'backing-off']),
  delayMs: ms,
  failures: count,
  lastFailure: z.string().exactOptional(),
});

const workerSchema: z.ZodType<WorkerStatus> = z.looseObject({
  pid: count,
  state: z.enum(['Starting', 'Idle', 'Running', 'Exiting']),
  startedAtMs: ms,
  requests: count,
  requestDurationUs: ms,
  requestMethod: z.string(),
  requestUri: z.string(),
  contentLength: count,
  user: z.string(),
  script: z.string(),
  lastRequestCpu: z.number().nonnegative().exactOptional(),
  lastRequestMemoryBytes: count.exactOptional(),
  rssBytes: count.exactOptional(),
});

// Loose objects: fields a newer daemon adds are kept (and printed by `status --json`); fields
// an older daemon lacks read 0.
const poolSchema: z.ZodType<PoolStatus> = z.looseObject({
  name: z.string(),
  pm: z.string(),
  runtime: z.string(),
  idle: count,
  busy: count,
  spawning: count,
  maxChildren: count,
  queueLength: count,
  maxQueueLength: count,
  queueMax: count,
  maxQueueWaitMs: ms,
  totalQueueWaitMs: ms,
  accepted: count,
  overloaded: count,
  maxChildrenReached: count,
  slowRequests: count,
  restarts: count,
  respawns: count.default(0),
  scaleUps: count.default(0),
  crashes: count.default(0),
  killed: count.default(0),
  recycled: count,
  maxActive: count.default(0),
  startedAtMs: ms.default(0),
  rssBytes: count.exactOptional(),
  backoff: backoffSchema,
  processes: z.array(workerSchema).default([]),
});

const daemonSchema: z.ZodType<DaemonStatus> = z.looseObject({
  pid: count,
  state: z.string(),
  configFile: z.string(),
  startedAtMs: ms,
  uptimeMs: ms,
  reloads: count,
  pools: z.array(poolSchema),
});

const failureSchema = z.looseObject({ ok: z.literal(false), errors: z.array(z.string()) });

/** `{"ok":true,"status":{…}}` or `{"ok":false,"errors":[…]}`. */
export const statusReplySchema: z.ZodType<StatusReply> = z.discriminatedUnion('ok', [
  z.looseObject({ ok: z.literal(true), status: daemonSchema }),
  failureSchema,
]);

/** `{"ok":true}` or `{"ok":false,"errors":[…]}` (the replies to `reload` and `stop`). */
export const resultReplySchema: z.ZodType<ReloadResult> = z.discriminatedUnion('ok', [
  z.looseObject({ ok: z.literal(true) }),
  failureSchema,
]);

/** `pools[0].backoff.state: Invalid option…` for the first problem of a reply. */
function firstIssue(error: z.ZodError): string {
  const [issue] = error.issues;
  if (issue === undefined) return 'invalid';
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return path === '' ? issue.message : `${path.replace(/^\./, '')}: ${issue.message}`;
}

/**
 * Checks a reply against `schema`.
 *
 * @param value - the parsed JSON reply line.
 * @param socketPath - the control socket, for the message.
 * @throws ControlError `ERR_CONTROL_PROTOCOL` naming the first field that does not fit.
 */
export function decodeControlReply<T>(schema: z.ZodType<T>, value: unknown, socketPath: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const detail = `control: ${socketPath}: unexpected reply (${firstIssue(result.error)}); is the daemon another version of cgi-fpm?`;
  throw new ControlError(ErrorCode.ERR_CONTROL_PROTOCOL, detail, { socketPath }, { cause: result.error });
}
