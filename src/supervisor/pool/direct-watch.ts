// This file implements the supervisor's watch over one worker of a `dispatch = "direct"` pool,
// from the perspective of a supervisor that sees none of its requests: a heartbeat (PHP-FPM's
// fpm_pctl_heartbeat: every min(1 s, request_terminate_timeout / 3)) asks the worker for its
// scoreboard; the answers feed the status (accepted conn, requests, what runs now), and a
// request older than `request_terminate_timeout`, or a worker whose event loop has not answered
// for that long, gets the worker killed (SIGKILL; nginx answers 502).
import type { Logger } from '../../log/logger.ts';
import type { ActiveRequestState, StateQueryMessage } from '../../worker/ipc.ts';
import { TERMINATE_MARGIN_MS } from './channel-backstops.ts';

/** The longest heartbeat period, in ms. @see PHP-FPM `fpm_pctl_heartbeat` */
export const HEARTBEAT_MAX_MS = 1000;
/** The shortest heartbeat period, in ms (PHP-FPM's FPM_PCTL_MIN_HEARTBEAT is 130 ms). */
export const HEARTBEAT_MIN_MS = 130;
/** Bound on the requests read from one answer (a worker runs at most `handler.concurrency`). */
const ACTIVE_MAX = 1000;

/** The heartbeat period for `request_terminate_timeout` (ms, 0 = none), in ms. */
export function heartbeatMs(terminateTimeoutMs: number): number {
  if (terminateTimeoutMs <= 0) return HEARTBEAT_MAX_MS;
  return Math.max(HEARTBEAT_MIN_MS, Math.min(HEARTBEAT_MAX_MS, Math.floor(terminateTimeoutMs / 3)));
}

/** What a watch does to its worker. */
export interface DirectWatchActions {
  send(message: StateQueryMessage): void;
  /** Kill the worker (`request_terminate_timeout`). */
  kill(): void;
}

/** The last request a direct worker ended, as it told. */
export interface DirectLastRequest {
  readonly method: string;
  readonly uri: string;
  readonly script: string;
  readonly durationMs: number;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, 1024) : '';
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

function activeRequest(value: unknown): ActiveRequestState {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  return { elapsedMs: count(v.elapsedMs), method: text(v.method), uri: text(v.uri), script: text(v.script) };
}

/** The heartbeat and scoreboard of one direct worker. */
export class DirectWatch {
  /** Connections the worker accepted, as last told. */
  accepted = 0;
  /** Requests the worker ended, as last told. */
  requests = 0;
  /** The requests running at the last answer, `elapsedMs` as of {@link answeredAtMs}. */
  active: readonly ActiveRequestState[] = [];
  last: DirectLastRequest | undefined;
  /** When the worker last answered (ms on the pool's clock). */
  answeredAtMs: number;
  readonly #terminateMs: number;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #actions: DirectWatchActions;
  #timer: NodeJS.Timeout | undefined;

  constructor(terminateTimeoutMs: number, deps: { now: () => number; log: Logger; actions: DirectWatchActions }) {
    this.#terminateMs = terminateTimeoutMs;
    this.#now = deps.now;
    this.#log = deps.log;
    this.#actions = deps.actions;
    this.answeredAtMs = deps.now();
  }

  /** Starts the heartbeat (the worker said ready). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.answeredAtMs = this.#now();
    this.#timer = setInterval(() => { this.#beat(); }, heartbeatMs(this.#terminateMs));
    this.#timer.unref();
  }

  /** Stops the heartbeat (the worker exited). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** An answer came (any fields may be missing or wrong: a script can write to the channel). */
  answered(message: unknown): void {
    const m = message as Record<string, unknown>;
    this.accepted = Math.max(this.accepted, count(m.accepted));
    this.requests = Math.max(this.requests, count(m.requests));
    this.active = Array.isArray(m.active) ? m.active.slice(0, ACTIVE_MAX).map(activeRequest) : [];
    if (typeof m.last === 'object' && m.last !== null) {
      const l = m.last as Record<string, unknown>;
      this.last = { method: text(l.method), uri: text(l.uri), script: text(l.script), durationMs: count(l.durationMs) };
    }
    this.answeredAtMs = this.#now();
  }

  /** The request running longest now, with its age in ms (estimated since the last answer). */
  oldest(): { request: ActiveRequestState; elapsedMs: number } | undefined {
    let oldest: ActiveRequestState | undefined;
    for (const r of this.active) if (oldest === undefined || r.elapsedMs > oldest.elapsedMs) oldest = r;
    return oldest === undefined ? undefined : { request: oldest, elapsedMs: oldest.elapsedMs + this.#now() - this.answeredAtMs };
  }

  #beat(): void {
    const limit = this.#terminateMs;
    if (limit > 0) {
      const silentMs = this.#now() - this.answeredAtMs;
      const oldest = this.oldest();
      // The worker answers its own 504 at the limit unless its event loop is stuck: a request
      // it still reported running at the limit, and older than limit + margin by now. (One its
      // last answer showed younger may have ended at the limit since: the next answer says.)
      if (oldest !== undefined && oldest.request.elapsedMs >= limit && oldest.elapsedMs > limit + TERMINATE_MARGIN_MS) {
        const { uri, script } = oldest.request;
        this.#log.error({ uri, script, elapsedMs: oldest.elapsedMs, limitMs: limit }, 'direct: request timeout, killing the worker');
        this.#kill();
        return;
      }
      if (silentMs > limit + TERMINATE_MARGIN_MS) {
        this.#log.error({ silentMs, limitMs: limit }, 'direct: request timeout: the worker stopped answering, killing it');
        this.#kill();
        return;
      }
    }
    this.#actions.send({ type: 'state' });
  }

  #kill(): void {
    this.stop();
    this.#actions.kill();
  }
}
