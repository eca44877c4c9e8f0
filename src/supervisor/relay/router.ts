// This file implements request routing from the perspective of one listener: the pools that
// share it are tried in config order, and the first whose root contains SCRIPT_FILENAME and
// whose `match` fits takes the request. Script resolution runs here, in the supervisor, so a
// refused path never wakes a worker (DESIGN.md, "What the client gets").
import { splitScriptName } from '../../cgi/environment.ts';
import { stripProxyPrefix } from '../../cgi/script.ts';
import type { PoolConfig } from '../../config/schema.ts';
import type { NameValuePairs } from '../../fastcgi/name-value.ts';
import { resolvePoolScript, type ScriptParams } from '../../worker/resolve.ts';
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

/** Routes by SCRIPT_FILENAME among the pools of one listener. */
export class Router {
  private readonly pools: readonly PoolConfig[];

  constructor(pools: readonly PoolConfig[]) {
    this.pools = pools;
  }

  /**
   * Resolves the request's script in the first pool that accepts it.
   * @param params - the request's FastCGI params (SCRIPT_FILENAME, PATH_INFO, SCRIPT_NAME), bytes.
   * @returns the pool and the resolved script, or the refusal of the most specific pool: one
   *   whose root contains the path wins over "outside root" of the others, and among those the
   *   one whose root is the longest prefix of the path as sent (the pool a missing script would
   *   have been in: the access log and the 404 line name it); 431 when the params with the
   *   supervisor's additions (`overrides.ts`) would not fit a worker's bound.
   * @see RFC 3875 §3.3 (script-URI), nginx `fastcgi_split_path_info`
   */
  async route(params: NameValuePairs): Promise<RoutedScript | RouteRefusal> {
    let refusal: RouteRefusal | undefined;
    let refusalRank = -1;
    const asSent = stripProxyPrefix(sent(params));
    for (const pool of this.pools) {
      const result = await resolvePoolScript(pool, params);
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
      const rank = isOutsideRoot(candidate) ? 0 : asSent.startsWith(`${pool.root}/`) ? 2 + pool.root.length : 1;
      if (rank > refusalRank) {
        refusal = candidate;
        refusalRank = rank;
      }
    }
    return refusal ?? { status: 404, event: 'script not found', reason: 'no pool on this listener', scriptFilename: sent(params) };
  }
}

/** `SCRIPT_FILENAME` as sent, as text for the log line. */
function sent(params: ScriptParams): string {
  return params.get('SCRIPT_FILENAME')?.toString() ?? '';
}

function isOutsideRoot(refusal: RouteRefusal): boolean {
  return refusal.reason.startsWith('outside root');
}

/** True when `route()` refused the request. */
export function isRefusal(result: RoutedScript | RouteRefusal): result is RouteRefusal {
  return 'status' in result;
}
