// This file implements the routing of one web-server connection's requests from the perspective
// of a request whose params are complete: the listener's router decides its pool (at once when
// no file system is needed, else when its promise settles), and the request is answered or
// handed to its pool. A request routed at once while the connection's read is still being
// parsed waits for the end of that read, so the STDIN records that came with its params reach
// the worker in the same writev. Nothing here throws into the socket's handler.
import { errorPage } from '../../cgi/error-page.ts';
import type { NameValuePairs } from '../../fastcgi/name-value.ts';
import type { ConnectionDeps } from './connection-deps.ts';
import type { RelayRequest } from './relay-request.ts';
import { isRefusal, type RouteResult } from './router.ts';

/** A request routed at once, waiting for the end of the read it came in. */
interface Routed {
  readonly request: RelayRequest;
  readonly params: NameValuePairs;
  readonly result: RouteResult;
  readonly rerouted: boolean;
}

/** Routes and dispatches the requests of one web-server connection (`WebConnection`). */
export class ConnectionRouting {
  readonly #deps: ConnectionDeps;
  /** True while a read of the connection's socket is being parsed. */
  #parsing = false;
  /** Requests routed during that read, dispatched after it. */
  #routedInRead: Routed[] = [];

  constructor(deps: ConnectionDeps) {
    this.#deps = deps;
  }

  /** The connection starts parsing one read of its socket. */
  readStarts(): void {
    this.#parsing = true;
  }

  /**
   * The read is parsed: the requests routed meanwhile are dispatched, unless the socket is
   * `destroyed` (a protocol error: they are cancelled when it closes).
   */
  readEnds(destroyed: boolean): void {
    this.#parsing = false;
    if (this.#routedInRead.length === 0) return;
    const routed = this.#routedInRead;
    this.#routedInRead = [];
    if (destroyed) return;
    for (const { request, params, result, rerouted } of routed) this.#routedSafely(request, params, result, rerouted);
  }

  /**
   * Routes `request` (in state `routing`, its params complete) and dispatches it. Whatever goes
   * wrong after the router (a bug) is answered 500 and logged; a router failure (a file-system
   * error not about the path) 403.
   * @param rerouted - true when its pool vanished in a reload after a first routing (tried once)
   */
  route(request: RelayRequest, params: NameValuePairs, rerouted: boolean): void {
    let result;
    try {
      result = this.#deps.router.route(params);
    } catch (err) {
      this.#scriptRefused(request, params, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (routed) => { this.#routedSafely(request, params, routed, rerouted); },
        (err: unknown) => { this.#scriptRefused(request, params, err); },
      );
      return;
    }
    if (this.#parsing) this.#routedInRead.push({ request, params, result, rerouted });
    else this.#routedSafely(request, params, result, rerouted);
  }

  #scriptRefused(request: RelayRequest, params: NameValuePairs, err: unknown): void {
    this.#deps.log.error({ err, script: params.get('SCRIPT_FILENAME')?.toString() }, 'script refused');
    request.answer(403, errorPage(403));
  }

  #routedSafely(request: RelayRequest, params: NameValuePairs, result: RouteResult, rerouted: boolean): void {
    try {
      this.#dispatch(request, params, result, rerouted);
    } catch (err) {
      this.#deps.log.error({ err, script: params.get('SCRIPT_FILENAME')?.toString() }, 'routing failed');
      request.answer(500, errorPage(500));
    }
  }

  #dispatch(request: RelayRequest, params: NameValuePairs, result: RouteResult, rerouted: boolean): void {
    if (request.state !== 'routing') return; // the web server went away meanwhile
    const deps = this.#deps;
    if (isRefusal(result)) {
      deps.log.warn({ pool: result.pool, script: result.scriptFilename, reason: result.reason }, result.event);
      deps.observer?.refused(request, result.pool);
      request.answer(result.status, errorPage(result.status));
      return;
    }
    request.routed(result);
    if (deps.pools.dispatch(result.pool.name, request)) return;
    // A reload removed the pool while the script was being resolved: route it again under
    // the new config (once), rather than leave the web server waiting for an answer.
    if (!rerouted) {
      this.route(request, params, true);
      return;
    }
    deps.log.error({ script: result.scriptFilename.toString(), pool: result.pool.name }, 'pool gone during reload');
    request.answer(503, errorPage(503, [['Retry-After', '1']]));
  }
}
