// This file implements the answer to a script that could not be started, from the perspective
// of a worker running as its pool's `user`: the supervisor checked the executable bit as root
// (access(2) X_OK passes for root when any x bit is set), so a script the pool's user may not
// execute (or whose interpreter or directory it may not reach) only fails here, with EACCES.
// That is the script's permissions, not a gateway fault: 403, like the supervisor's refusals.
import type { PoolConfig } from '../config/schema.ts';
import { DaemonError, ErrorCode } from '../errors.ts';

/** The status, log event and fields of a request whose runtime failed before any output. */
export interface SpawnFailure {
  /** 403 when the worker's user may not execute the script, else 502. */
  readonly status: 403 | 502;
  /** `script refused` (403) or `cgi spawn failed` (502). */
  readonly event: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** The errno code under a runtime's error (`ERR_CGI_SPAWN` wraps the spawn error as `cause`). */
function errnoOf(err: unknown): string | undefined {
  const cause = err instanceof Error ? (err.cause ?? err) : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Classifies an error a runtime threw before the script produced output.
 *
 * @param err - the rejection (`CgiError` `ERR_CGI_SPAWN` from the `exec` runtime, or another).
 * @param pool - for the user named in the reason.
 * @returns 403 `script refused` with `reason: "not executable by user NAME"` for `EACCES` on a
 *   spawn; 502 `cgi spawn failed` for anything else (a missing interpreter, ENOENT).
 */
export function spawnFailure(err: unknown, pool: PoolConfig): SpawnFailure {
  const message = err instanceof Error ? err.message : String(err);
  const spawn = err instanceof DaemonError && err.code === ErrorCode.ERR_CGI_SPAWN;
  if (spawn && errnoOf(err) === 'EACCES') {
    const user = pool.user === undefined ? "the daemon's user" : `user ${pool.user.name}`;
    return { status: 403, event: 'script refused', fields: { reason: `not executable by ${user}`, err: message } };
  }
  return { status: 502, event: 'cgi spawn failed', fields: { err: message } };
}
