// This file implements the checking of the daemon's control replies from the perspective of
// the CLI, which may be a newer or older cgi-fpm than the daemon it asks: a reply of the wrong
// shape is refused with the field that is wrong, never printed as `undefined`.

import { z } from 'zod';
import { ControlError, ErrorCode } from '../errors.ts';
import type { StatusReply } from '../supervisor/control/control-protocol.ts';
import type { BackoffStatus, DaemonStatus, PoolStatus, ReloadResult } from '../supervisor/status.ts';

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();

const backoffSchema: z.ZodType<BackoffStatus> = z.looseObject({
  state: z.enum(['none', 'backing-off']),
  delayMs: ms,
  failures: count,
  lastFailure: z.string().exactOptional(),
});

// Loose objects: fields a newer daemon adds are kept (and printed by `status --json`).
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
  recycled: count,
  backoff: backoffSchema,
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
