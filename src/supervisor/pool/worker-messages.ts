// This file implements what a worker's control messages mean to the supervisor, from the
// perspective of a handle that must treat every one as data (a script in the worker can write
// to the control channel): each known type is read with its fields checked or coerced, and
// handed to the handle's matching action; anything else is ignored.
import { hasType } from '../../worker/ipc.ts';

/** A worker's claim of a CGI process group, as sent (checked by worker-groups.ts). */
export interface CgiGroupClaim {
  readonly requestId?: unknown;
  readonly pgid?: unknown;
  readonly persistent?: unknown;
  readonly scope?: unknown;
}

/** What a worker handle does with each message type. */
export interface WorkerMessageActions {
  /** `ready`: the runtime loaded, the channels are served. */
  ready(): void;
  /** `cgi-group`: a process group to kill should the worker die. */
  cgiGroup(claim: CgiGroupClaim): void;
  /** `recycle`: replace me after my request (`pm.max_memory`, a state the runtime cannot reset). */
  recycle(reason: string, rssBytes: number): void;
  /**
   * `stack`: the answer to a slow log's `stack-sample` (`resources`) or the sampler thread's
   * `frames`, whole (unchecked: the stack sampler reads and bounds its fields).
   */
  stack(message: unknown): void;
  /** `start-failed`: why the runtime did not load. */
  startFailed(message: string): void;
  /** `state`: a direct worker's scoreboard (unchecked: direct-watch.ts reads and bounds it). */
  state(message: unknown): void;
}

/** Hands one control message of a worker to `actions` (unknown or malformed types: nothing). */
export function readWorkerMessage(message: unknown, actions: WorkerMessageActions): void {
  if (!hasType(message)) return;
  switch (message.type) {
    case 'ready':
      actions.ready();
      return;
    case 'cgi-group':
      actions.cgiGroup(message as CgiGroupClaim);
      return;
    case 'recycle': {
      const { reason, rssBytes } = message as { reason?: unknown; rssBytes?: unknown };
      actions.recycle(String(reason), typeof rssBytes === 'number' ? rssBytes : 0);
      return;
    }
    case 'stack':
      actions.stack(message);
      return;
    case 'state':
      actions.state(message);
      return;
    case 'start-failed':
      actions.startFailed(String((message as { message?: unknown }).message));
      return;
    default:
      return;
  }
}
