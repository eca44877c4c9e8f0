// This file implements a direct worker's scoreboard from the perspective of the supervisor's
// heartbeat (PHP-FPM's scoreboard, read by fpm_pctl_heartbeat): the connections it accepted,
// the requests it ended, those running now with their start times, and the last one, kept
// as counters since the worker started and read as one `state` message on each query.
import type { ActiveRequestState, StateMessage } from './ipc.ts';
import type { FcgiRequest } from './fcgi-connection.ts';

/** What the scoreboard keeps of one request. */
interface RequestEntry {
  readonly startedMs: number;
  readonly method: string;
  readonly uri: string;
  readonly script: string;
}

/** URIs and scripts longer than this are cut in a state message (it must stay one small line). */
const FIELD_MAX_CHARS = 512;

function param(req: FcgiRequest, name: string): string {
  return (req.pairs.get(name)?.toString('latin1') ?? '').slice(0, FIELD_MAX_CHARS);
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
    this.#active.set(key, {
      startedMs: this.#now(), method: param(req, 'REQUEST_METHOD'), uri: param(req, 'REQUEST_URI'),
      script: param(req, 'SCRIPT_FILENAME'),
    });
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
      elapsedMs: now - e.startedMs, method: e.method, uri: e.uri, script: e.script,
    }));
    const last = this.#last;
    return {
      type: 'state', accepted: this.accepted, requests: this.requests, active,
      ...(last === undefined ? {} : {
        last: { method: last.entry.method, uri: last.entry.uri, script: last.entry.script, durationMs: last.durationMs },
      }),
    };
  }
}
