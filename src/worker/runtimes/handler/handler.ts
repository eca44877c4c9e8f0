// This file implements `runtime = "handler"` from the perspective of a worker starting for a
// handler pool: import the pool's module once, and serve every request with the handler it
// exports, node-http style (`(req, res)`, Express) or fetch style (`{ fetch }`, Hono).
import type { PoolConfig } from '../../../config/schema.ts';
import { DaemonError, ErrorCode } from '../../../errors.ts';
import type { Logger } from '../../../log/logger.ts';
import type { RuntimeHost } from '../types.ts';
import { createFetchHost } from './fetch.ts';
import { loadHandler } from './load-handler.ts';
import { createNodeHttpHost } from './node-http.ts';

/** What the handler runtime gets at start. */
export interface HandlerRuntimeDeps {
  readonly log: Logger;
}

/**
 * Loads the pool's handler module (`handler.module`) and resolves with a host serving requests
 * with it. The module is imported once per worker (ESM or CommonJS); its default export (or
 * `module.exports`, or a compiled `exports.default`) must be a node-http request listener
 * `(req, res)` or an object with `fetch(request)` returning a `Response` (or a promise of one).
 *
 * Per request the handler gets the HTTP request the client sent, rebuilt from the CGI
 * variables (method, `REQUEST_URI`, `HTTP_*` fields, body from stdin, `REMOTE_ADDR` as
 * `req.socket.remoteAddress`), and its response goes out as a CGI response. `run` may be called
 * again before an earlier run ended (`handler.concurrency`); no state is kept between runs.
 * A failing handler costs only its request (500 and its stack in the log); the worker keeps
 * serving.
 * @throws DaemonError `ERR_RUNTIME_START` naming the module: no `handler.module`, the module
 *   cannot be imported (the cause is named: syntax error, missing dependency), or it exports
 *   no handler (what it exports is named).
 * @see docs/INTERFACES.md "worker/runtimes: lifecycle (issue 3)"
 */
export async function createHandlerRuntime(pool: PoolConfig, deps: HandlerRuntimeDeps): Promise<RuntimeHost> {
  const file = pool.handler.module;
  if (file === undefined) {
    throw new DaemonError(
      ErrorCode.ERR_RUNTIME_START,
      `runtime: handler: pool "${pool.name}" has no handler.module (the module exporting the handler)`,
    );
  }
  const loaded = await loadHandler(file);
  deps.log.debug({ module: file, api: loaded.api }, 'handler loaded');
  return loaded.api === 'fetch' ? createFetchHost(loaded.handler) : createNodeHttpHost(loaded.handler);
}
