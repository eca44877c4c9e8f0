// This file implements what a web connection needs from the supervisor, from the perspective of
// the supervisor that builds it per listener (and replaces parts on reload): where routed
// requests go, the router, the GET_VALUES answers, timeouts, counters, and the observer of the
// status pages and access log. Types only.
import type { NameValuePairs } from '../../fastcgi/name-value.ts';
import type { Logger } from '../../log/logger.ts';
import type { ConnectionCounters } from './connection-counters.ts';
import type { ConnectionTimeouts, TimeoutKey } from './connection-timeouts.ts';
import type { RelayRequest } from './relay-request.ts';
import type { Router } from './router.ts';

/** Where routed requests go: a pool, by name (the supervisor's pools; they change on reload). */
export interface RequestDispatch {
  /** Runs or queues `request` in pool `name`; false when there is no such pool. */
  dispatch(name: string, request: RelayRequest): boolean;
  /** The web server gave up on a queued request of pool `name`: the pool forgets it. */
  withdraw(name: string, request: RelayRequest): void;
}

/** What a connection needs from the supervisor. */
export interface ConnectionDeps {
  router: Router;
  readonly pools: RequestDispatch;
  readonly log: Logger;
  readonly now: () => number;
  /** The `FCGI_GET_VALUES` answers (`FCGI_MAX_CONNS`, `FCGI_MAX_REQS`); replaced on reload. */
  values: Readonly<Record<string, string>>;
  /** Where held output spills (`[global] fastcgi_temp_path`, else the system's), read per held response. */
  readonly tempPath: string;
  /** Requests a new connection may have in flight at once (1: no multiplexing); replaced on reload. */
  maxRequests: number;
  /** The listener's counters (kept across reloads). */
  readonly counters: ConnectionCounters;
  readonly logRequest: (request: RelayRequest, status: number, bytes: number) => void;
  /** `client_header_timeout` and `keepalive_timeout`; replaced on reload. */
  timeouts: ConnectionTimeouts;
  /** A connection passed one of {@link ConnectionDeps.timeouts} and is closed (logged, rate-limited). */
  readonly timedOut: (key: TimeoutKey, timeoutMs: number) => void;
  /** The pages the supervisor answers itself and what sees each request end; replaced on reload. */
  observer?: RequestObserver | undefined;
}

/**
 * What the supervisor does around the relay (supervisor/pages: status and ping pages, the
 * access log, the status counters), through three hooks: one where a request is routed, one
 * where the router refuses it, and one where it ends.
 */
export interface RequestObserver {
  /** Answers `request` itself when its params ask for a page (status, ping); true if it did. */
  answer(request: RelayRequest, params: NameValuePairs): boolean;
  /** The router refused `request`: `pool` is the pool whose rules refused it (if any). */
  refused(request: RelayRequest, pool: string | undefined): void;
  /** `request` is over: answered, relayed to its END_REQUEST, or given up by the web server. */
  ended(request: RelayRequest): void;
}
