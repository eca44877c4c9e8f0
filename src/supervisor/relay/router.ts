// This file implements request routing from the perspective of one listener: the pools that
// share it are tried in config order, and the first whose root contains SCRIPT_FILENAME and
// whose `match` fits takes the request. Script resolution runs here, in the supervisor, so a
// refused path never wakes a worker (DESIGN.md, "What the client gets").
import { splitScriptName } from '../../cgi/environment.ts';
import { resolveVirtualScript, stripProxyPrefix, type ScriptResolution } from '../../cgi/script.ts';
import { ScriptCache } from '../../cgi/script-cache.ts';
import { syncScriptFs } from '../../cgi/script-fs.ts';
import type { PoolConfig } from '../../config/schema.ts';
import type { NameValuePairs } from '../../fastcgi/name-value.ts';
import { poolScriptRules, type ScriptParams } from '../../worker/resolve.ts';
import { encodeOverrides, paramsOverLimit } from './overrides.ts';

const EMPTY = Buffer.alloc(0);

/** The resolved script a request runs (RFC 3875 §3.3, script-path and PATH_INFO), as bytes. */
export interface RoutedScript {
  readonly pool: PoolConfig;
  /** The real path of the script, as the file system names it. */
  readonly scriptFilename: Buffer;
  readonly pathInfo: Buffer;
  /** `SCRIPT_NAME` without the path-info the router split off `SCRIPT_FILENAME`, when it did. */
  readonly scriptName?: Buffer;
  /** The params the supervisor adds for the worker (`overrides.ts`), encoded once by the router. */
  readonly overrides?: Buffer;
}

/** A refusal: the status to answer, the log event, and the exact cause. */
export interface RouteRefusal {
  /** 404 / 403 (the script), 431 (the params with the resolved script's would not fit a worker). */
  readonly status: 403 | 404 | 431;
  readonly event: 'script not found' | 'script refused' | 'params too large';
  readonly reason: string;
  /** `SCRIPT_FILENAME` as sent, as text (for the log line). */
  readonly scriptFilename: string;
  /** The pool whose rules refused it (the most specific one); absent when the listener has none. */
  readonly pool?: string;
}

/** What {@link Router.route} decides: the routed script, or the refusal. */
export type RouteResult = RoutedScript | RouteRefusal;

/** The refusal kept so far while the pools are tried, and its rank (see {@link Router.route}). */
interface Search {
  refusal: RouteRefusal | undefined;
  rank: number;
}

/**
 * Routes by SCRIPT_FILENAME among the pools of one listener. It keeps the resolutions of file
 * scripts (script-cache.ts) for its life: a reload builds a new router, and with it a new cache.
 */
export class Router {
  private readonly pools: readonly PoolConfig[];
  private readonly cache: ScriptCache;

  constructor(pools: readonly PoolConfig[], cache: ScriptCache = new ScriptCache()) {
    this.pools = pools;
    this.cache = cache;
  }

  /**
   * Resolves the request's script in the first pool that accepts it: synchronously when no pool
   * tried needs the file system (a handler pool, a script whose kept resolution still holds),
   * else as a promise.
   * @param params - the request's FastCGI params (SCRIPT_FILENAME, PATH_INFO, SCRIPT_NAME), bytes.
   * @returns the pool and the resolved script, or the refusal of the most specific pool: one
   *   whose root contains the path wins over "outside root" of the others, and among those the
   *   one whose root is the longest prefix of the path as sent (the pool a missing script would
   *   have been in: the access log and the 404 line name it); 431 when the params with the
   *   supervisor's additions (`overrides.ts`) would not fit a worker's bound.
   * @throws the file system's error for failures that are not about the path (e.g. EIO), thrown
   *   or as the promise's rejection
   * @see RFC 3875 §3.3 (script-URI), nginx `fastcgi_split_path_info`
   */
  route(params: NameValuePairs): RouteResult | Promise<RouteResult> {
    const search: Search = { refusal: undefined, rank: -1 };
    const scriptFilename = params.get('SCRIPT_FILENAME') ?? EMPTY;
    const pathInfo = params.get('PATH_INFO') ?? EMPTY;
    for (let i = 0; i < this.pools.length; i++) {
      const pool = this.pools[i];
      if (pool === undefined) continue;
      const result = pool.runtime === 'handler'
        ? resolveVirtualScript(scriptFilename, pathInfo, poolScriptRules(pool))
        : this.cache.lookup(poolScriptRules(pool), scriptFilename, pathInfo);
      if (result === undefined) return this.routeFrom(i, params, search);
      const done = consider(pool, params, result, search);
      if (done !== undefined) return done;
    }
    return finish(params, search);
  }

  /** {@link Router.route} from pool `start` on, resolving in full where needed. */
  private async routeFrom(start: number, params: NameValuePairs, search: Search): Promise<RouteResult> {
    const scriptFilename = params.get('SCRIPT_FILENAME') ?? EMPTY;
    const pathInfo = params.get('PATH_INFO') ?? EMPTY;
    for (let i = start; i < this.pools.length; i++) {
      const pool = this.pools[i];
      if (pool === undefined) continue;
      const rules = poolScriptRules(pool);
      const result = pool.runtime === 'handler'
        ? resolveVirtualScript(scriptFilename, pathInfo, rules)
        : await this.cache.resolve(rules, scriptFilename, pathInfo, syncScriptFs);
      const done = consider(pool, params, result, search);
      if (done !== undefined) return done;
    }
    return finish(params, search);
  }
}

/** One pool's resolution: the route when it accepts, else kept as the refusal if it ranks higher. */
function consider(pool: PoolConfig, params: NameValuePairs, result: ScriptResolution, search: Search): RouteResult | undefined {
  if (result.ok) {
    const scriptName = splitScriptName(params.get('SCRIPT_NAME'), params.get('PATH_INFO') ?? EMPTY, result.pathInfo);
    const paths = { scriptFilename: result.scriptFilename, pathInfo: result.pathInfo, scriptName };
    const overrides = encodeOverrides(paths);
    const total = paramsOverLimit(params, overrides);
    if (total !== undefined) {
      return { status: 431, event: 'params too large', scriptFilename: sent(params),
        reason: `params: ${total} bytes with the resolved script's, more than a worker takes` };
    }
    const routed = { pool, scriptFilename: result.scriptFilename, pathInfo: result.pathInfo, overrides };
    return scriptName === undefined ? routed : { ...routed, scriptName };
  }
  const candidate: RouteRefusal = {
    status: result.status, event: result.event, reason: result.reason, scriptFilename: sent(params), pool: pool.name,
  };
  const asSent = stripProxyPrefix(sent(params));
  const rank = isOutsideRoot(candidate) ? 0 : asSent.startsWith(`${pool.root}/`) ? 2 + pool.root.length : 1;
  if (rank > search.rank) {
    search.refusal = candidate;
    search.rank = rank;
  }
  return undefined;
}

/** The answer once every pool refused (or there is none). */
function finish(params: NameValuePairs, search: Search): RouteRefusal {
  return search.refusal ?? { status: 404, event: 'script not found', reason: 'no pool on this listener', scriptFilename: sent(params) };
}

/** `SCRIPT_FILENAME` as sent, as text for the log line. */
function sent(params: ScriptParams): string {
  return params.get('SCRIPT_FILENAME')?.toString() ?? '';
}

function isOutsideRoot(refusal: RouteRefusal): boolean {
  return refusal.reason.startsWith('outside root');
}

/** True when `route()` refused the request. */
export function isRefusal(result: RouteResult): result is RouteRefusal {
  return 'status' in result;
}
