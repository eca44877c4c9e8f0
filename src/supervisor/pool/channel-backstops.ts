// This file implements the supervisor's per-request backstops on one worker channel, from the
// perspective of a request the worker fails to end: `request_terminate_timeout` plus a margin
// (the worker answers 504 itself unless its event loop is stuck), the grace an aborted request
// gets to end, and `request_slowlog_timeout`. Each is a Deadline (relay/deadline.ts): a
// request moves two numbers instead of creating and clearing one or two timers.
import type { RelayRequest } from '../relay/relay-request.ts';
import { Deadline } from '../../deadline.ts';

/** Why the supervisor killed a worker, if it did. */
export type KillReason = 'timeout' | 'abort' | 'stop' | 'protocol';

/** Time a worker gets to end an aborted request before SIGKILL. */
export const ABORT_GRACE_MS = 5000;

/**
 * Margin over `request_terminate_timeout` before the supervisor kills the worker itself: the
 * worker answers 504 on time unless its event loop is stuck (a script in an endless loop in
 * the `node` runtime), and then the supervisor does.
 */
export const TERMINATE_MARGIN_MS = 500;

/** What a channel's backstops do when one passes. */
export interface BackstopActions {
  /** Kill the worker. */
  kill(reason: KillReason): void;
  /** `request` passed `request_slowlog_timeout` and still runs. */
  slow(request: RelayRequest): void;
}

/** The backstops of one worker channel (one request at a time). */
export class ChannelBackstops {
  readonly #kill: Deadline;
  readonly #slow: Deadline;
  #reason: KillReason = 'timeout';
  #request: RelayRequest | undefined;

  constructor(actions: BackstopActions) {
    // Unref'd: between requests a timer may stay armed (it stops when it fires); while a
    // request runs, its sockets and the worker keep the process alive.
    this.#kill = new Deadline(() => { actions.kill(this.#reason); }, { unref: true });
    this.#slow = new Deadline(() => {
      const request = this.#request;
      if (request !== undefined) actions.slow(request);
    }, { unref: true });
  }

  /**
   * The channel took `request`.
   * @param terminateMs - `request_terminate_timeout` (0: none)
   * @param slowMs - `request_slowlog_timeout` (0: none)
   */
  started(request: RelayRequest, terminateMs: number, slowMs: number): void {
    if (terminateMs > 0) {
      this.#reason = 'timeout';
      this.#kill.after(terminateMs + TERMINATE_MARGIN_MS);
    }
    if (slowMs > 0) {
      this.#request = request;
      this.#slow.after(slowMs);
    }
  }

  /** The web server went away: the worker must end the request within the grace, or die. */
  aborted(): void {
    this.#reason = 'abort';
    this.#kill.after(ABORT_GRACE_MS);
  }

  /** The request ended. */
  finished(): void {
    this.#kill.withdraw();
    this.#slow.withdraw();
    this.#request = undefined;
  }

  /** The worker is gone: no timer left. */
  close(): void {
    this.#kill.close();
    this.#slow.close();
    this.#request = undefined;
  }
}
