// This file implements a direct worker's scoreboard from the perspective of the supervisor's
// heartbeat (PHP-FPM's scoreboard, read by fpm_pctl_heartbeat): the connections it accepted,
// the requests it ended, those running now with their start times, and the last one, kept
// as counters since the worker started and read as one `state` message on each query.
import type { ActiveRequestState, StateMessage } from './ipc.ts';
import type { FcgiRequest } from './fcgi-connection.ts';

/**
 * What the scoreboard keeps of one request: its start and its params, read (method, URI,
 * script) only when a state message is made, not on every request.
 */
interface RequestEntry {
  readonly startedMs: number;
  readonly pairs: FcgiRequest['pairs'];
}

/** URIs and scripts longer than this are cut in a state message (it must stay one small line). */
const FIELD_MAX_CHARS = 512;

function param(entry: RequestEntry, name: string): string {
  return (entry.pairs.get(name)?.toString('latin1') ?? '').slice(0, FIELD_MAX_CHARS);
}

/** The request's method, URI and script, as a state message names them. */
function described(entry: RequestEntry): { method: string; uri: string; script: string } {
  return { method: param(entry, 'REQUEST_METHOD'), uri: param(entry, 'REQUEST_URI'), script: param(entry, 'SCRIPT_FILENAME') };
}

/** The counters of one direct worker since it started. */
export class Scoreboard {
  /** Connections accepted (admitted by `listen.allowed_clients`). @see PHP-FPM `accepted conn` */
  accepted = 0;
  /** Requests ended (answered or aborted). */
  requests = 0;
  readonly #now: () => number;
  readonly #active = new Map<object, RequestEntry>();
  #last: { entry: RequestEntry; durationMs: number } | undefined;

  /** @param now - the clock, in ms */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** Requests running now. */
  get activeCount(): number {
    return this.#active.size;
  }

  /** `req` started; `key` names it until {@link ended}. */
  started(key: object, req: FcgiRequest): void {
    this.#active.set(key, { startedMs: this.#now(), pairs: req.pairs });
  }

  /** The request started under `key` ended; returns the number of requests ended so far. */
  ended(key: object): number {
    const entry = this.#active.get(key);
    this.#active.delete(key);
    this.requests += 1;
    if (entry !== undefined) this.#last = { entry, durationMs: this.#now() - entry.startedMs };
    return this.requests;
  }

  /** The answer to the supervisor's heartbeat query. */
  state(): StateMessage {
    const now = this.#now();
    const active: ActiveRequestState[] = [...this.#active.values()].map((e) => ({
      elapsedMs: now - e.startedMs, ...described(e),
    }));
    const last = this.#last;
    return {
      type: 'state', accepted: this.accepted, requests: this.requests, active,
      ...(last === undefined ? {} : { last: { ...described(last.entry), durationMs: last.durationMs } }),
    };
  }
}
