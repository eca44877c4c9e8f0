// This file implements script resolution for one pool from the perspective of the code that
// decides whether a request may run there: the supervisor's router (each pool sharing a
// listener, in turn) and a standalone worker (`cgi-fpm worker`: its one pool, no supervisor).
// Paths are the bytes the web server sent.
import type { PoolConfig } from '../config/schema.ts';
import {
  resolveScript,
  resolveVirtualScript,
  type ScriptResolution,
  type ScriptRules,
} from '../cgi/script.ts';
import { syncScriptFs } from '../cgi/script-fs.ts';

/** The params resolution reads (`NameValuePairs`: the bytes sent). */
export interface ScriptParams {
  get(name: string): Buffer | undefined;
}

const EMPTY = Buffer.alloc(0);
/** Rules per pool (pool configs are frozen and long-lived: one object, one compiled glob list). */
const rulesByPool = new WeakMap<PoolConfig, ScriptRules>();

/**
 * The pool's root, `match` globs, and the executable bit, required for every file runtime
 * (`exec`, `python`, `node`) unless the pool says `require_executable = false`.
 */
export function poolScriptRules(pool: PoolConfig): ScriptRules {
  let rules = rulesByPool.get(pool);
  if (rules === undefined) {
    rules = { root: pool.root, match: pool.match, requireExecutable: pool.requireExecutable };
    rulesByPool.set(pool, rules);
  }
  return rules;
}

/**
 * Resolves a request's `SCRIPT_FILENAME` (Apache's `proxy:fcgi://host` prefix stripped) and
 * `PATH_INFO` against `pool`: a file under its root for file runtimes, a path under its root for
 * `runtime = "handler"` (one module answers every path).
 * @param params - the request's FastCGI params (bytes).
 * @returns the real script and path-info (bytes), or the refusal (403/404, event and reason).
 * @throws the file system's error for failures that are not about the path (e.g. EIO).
 * @see resolveScript, resolveVirtualScript
 */
export function resolvePoolScript(pool: PoolConfig, params: ScriptParams): Promise<ScriptResolution> {
  const scriptFilename = params.get('SCRIPT_FILENAME') ?? EMPTY;
  const pathInfo = params.get('PATH_INFO') ?? EMPTY;
  const rules = poolScriptRules(pool);
  return pool.runtime === 'handler'
    ? Promise.resolve(resolveVirtualScript(scriptFilename, pathInfo, rules))
    : resolveScript(scriptFilename, pathInfo, rules, syncScriptFs);
}
