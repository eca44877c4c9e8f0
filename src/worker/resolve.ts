// This file implements script resolution for one pool from the perspective of the code that
// decides whether a request may run there: the supervisor's router (each pool sharing a
// listener, in turn) and a standalone worker (`cgi-fpm worker`: its one pool, no supervisor).
import type { PoolConfig } from '../config/schema.ts';
import {
  resolveScript,
  resolveVirtualScript,
  type ScriptResolution,
  type ScriptRules,
} from '../cgi/script.ts';
import { syncScriptFs } from '../cgi/script-fs.ts';

/** Runtimes that exec the script file itself, so it must carry the executable bit. */
const EXECUTABLE_RUNTIMES: ReadonlySet<string> = new Set(['exec']);

/** The pool's root, `match` globs, and the executable requirement of `exec` pools. */
export function poolScriptRules(pool: PoolConfig): ScriptRules {
  return { root: pool.root, match: pool.match, requireExecutable: EXECUTABLE_RUNTIMES.has(pool.runtime) };
}

/**
 * Resolves a request's `SCRIPT_FILENAME` (Apache's `proxy:fcgi://host` prefix stripped) and
 * `PATH_INFO` against `pool`: a file under its root for file runtimes, a path under its root for
 * `runtime = "handler"` (one module answers every path).
 * @param params - the request's FastCGI params.
 * @returns the real script and path-info, or the refusal (403/404, event and reason).
 * @throws the file system's error for failures that are not about the path (e.g. EIO).
 * @see resolveScript, resolveVirtualScript
 */
export function resolvePoolScript(
  pool: PoolConfig,
  params: ReadonlyMap<string, string>,
): Promise<ScriptResolution> {
  const scriptFilename = params.get('SCRIPT_FILENAME') ?? '';
  const pathInfo = params.get('PATH_INFO') ?? '';
  const rules = poolScriptRules(pool);
  return pool.runtime === 'handler'
    ? Promise.resolve(resolveVirtualScript(scriptFilename, pathInfo, rules))
    : resolveScript(scriptFilename, pathInfo, rules, syncScriptFs);
}
