// This file implements loading a pool's handler module from the perspective of a worker
// starting a `runtime = "handler"` pool: import it once (ESM or CommonJS), find the handler
// among its exports, and say exactly what is wrong when there is none.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { DaemonError, ErrorCode } from '../../../errors.ts';

/** A node-http request listener, `(req, res)`; an Express app is one. */
export type NodeHttpHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** An object answering a web `Request` with a `Response`; a Hono app is one. */
export interface FetchHandler {
  fetch(request: Request): unknown;
}

/** The handler a module exports, by the API it speaks. */
export type LoadedHandler =
  | { readonly api: 'node-http'; readonly handler: NodeHttpHandler }
  | { readonly api: 'fetch'; readonly handler: FetchHandler };

/**
 * Imports `file` and returns its handler: the first of `default` (ESM default export, or
 * CommonJS `module.exports`) and `default.default` (CommonJS compiled from `export default`)
 * that is a function (node-http) or an object with a `fetch` method (fetch API).
 * @param file - absolute path of the module (`handler.module`).
 * @throws DaemonError `ERR_RUNTIME_START` naming the module and the cause when it cannot be
 *   imported (syntax error, missing dependency, a throw at top level), or naming what it
 *   exports when that is no handler.
 */
export async function loadHandler(file: string): Promise<LoadedHandler> {
  let ns: unknown;
  try {
    ns = (await import(pathToFileURL(file).href)) as unknown;
  } catch (err) {
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : inspect(err);
    throw new DaemonError(ErrorCode.ERR_RUNTIME_START, `runtime: handler: cannot load "${file}": ${detail}`, {
      cause: err,
    });
  }
  const exports = isObject(ns) ? ns : {};
  // ESM `export default` or CommonJS `module.exports` (Node's `default` of a CJS module), then
  // CommonJS compiled from `export default` (`exports.default = app` beside `__esModule`).
  const found = asHandler(exports.default) ?? asHandler(propertyOf(exports.default, 'default'));
  if (found !== undefined) return found;
  throw new DaemonError(
    ErrorCode.ERR_RUNTIME_START,
    `runtime: handler: "${file}" exports no handler: expected a (req, res) function or an object with ` +
      `fetch(request) as its default export or module.exports; got ${describeExports(exports)}`,
  );
}

/** The handler `value` is, if any. */
function asHandler(value: unknown): LoadedHandler | undefined {
  if (typeof value === 'function') return { api: 'node-http', handler: value as NodeHttpHandler };
  if (isObject(value) && typeof value.fetch === 'function') {
    return { api: 'fetch', handler: value as unknown as FetchHandler };
  }
  return undefined;
}

/** What a module exports, in words: `default export: object with keys [a, b]; named: x, y`. */
function describeExports(ns: Record<string, unknown>): string {
  const named = Object.keys(ns).filter((key) => key !== 'default');
  const parts = ['default' in ns ? `default export: ${describeValue(ns.default)}` : 'no default export'];
  if (named.length > 0) parts.push(`named exports: ${listed(named)}`);
  return parts.join('; ');
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    const fetch = 'fetch' in value ? `, fetch is ${typeof value.fetch}` : '';
    return `object with keys [${listed(keys)}]${fetch}`;
  }
  return `${typeof value} ${inspect(value, { maxStringLength: 40 })}`;
}

function listed(keys: readonly string[]): string {
  const shown = keys.slice(0, 10).join(', ');
  return keys.length > 10 ? `${shown}, … (${keys.length} in all)` : shown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function propertyOf(value: unknown, key: string): unknown {
  return isObject(value) || typeof value === 'function' ? (value as Record<string, unknown>)[key] : undefined;
}
