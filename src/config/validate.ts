// This file implements the validation of one `[pools.NAME]` table (and the check shared with
// `[global]`, validate-global.ts) from the perspective of the loader: fold dotted keys, check
// with the zod schema, and turn every issue into a problem naming the file, pool, key and value.

import type { z } from 'zod';
import type { ConfigError } from '../errors.ts';
import { flattenTable, isTable } from './flatten.ts';
import type { Flattened } from './flatten.ts';
import { resolveIdentity } from './identity.ts';
import { issueProblems } from './issues.ts';
import type { IssueScope } from './issues.ts';
import { buildPool, resolveFile, resolveListen, resolveRoot } from './normalize.ts';
import type { ConfigFs, PoolContext } from './normalize.ts';
import { configProblem, formatValue } from './problems.ts';
import type { PoolConfig } from './schema.ts';
import type { PoolTable } from './toml-schema.ts';
import { POOL_KEYS, POOL_NAME_RE, poolSchema } from './toml-schema.ts';

/** Keys of a pool whose table value is a map of its own, not dotted keys. */
const POOL_MAPS = ['env'] as const;

/** A validated pool: the config, or every problem that prevents it. */
export type ValidatedPool =
  | { readonly ok: true; readonly pool: PoolConfig }
  | { readonly ok: false; readonly problems: readonly ConfigError[] };

/** A validated table, or every problem with it. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problems: ConfigError[] };

/** Runs `schema` on a table whose dotted keys were folded; problems are scoped by `scope`. */
export function check<S extends z.ZodType>(schema: S, flat: Flattened, scope: IssueScope): Checked<z.output<S>> {
  const problems = flat.duplicates.map((key) => {
    const full = `${scope.keyPrefix ?? ''}${key}`;
    const detail = `key "${full}" is given twice, as the quoted key "${key}" and through a bare dotted key or table; keep one`;
    return configProblem(
      scope.file,
      detail,
      scope.pool === undefined ? { key: full } : { key: full, pool: scope.pool },
    );
  });
  const result = schema.safeParse(flat.table, { reportInput: true });
  if (!result.success) problems.push(...result.error.issues.flatMap((issue) => issueProblems(issue, scope)));
  return result.success && problems.length === 0 ? { ok: true, value: result.data } : { ok: false, problems };
}

/** A non-empty string value of the folded table, else `undefined` (the schema reports it). */
export function stringAt(flat: Flattened, key: string): string | undefined {
  const value = flat.table[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function nameProblems(ctx: PoolContext): ConfigError[] {
  if (POOL_NAME_RE.test(ctx.name)) return [];
  const detail = `the pool name must match ${String(POOL_NAME_RE)} (letters, digits, "_", "-"), got ${JSON.stringify(ctx.name)}`;
  return [configProblem(ctx.file, detail, { pool: ctx.name })];
}

/**
 * Validates one `[pools.NAME]` table and normalizes it. `listen` and `root` are resolved (the
 * root checked on disk) even when other keys are invalid, so every problem is reported at once;
 * `user`, `group`, `listen.owner` and `listen.group` are looked up once the table is valid.
 *
 * @param value - `document.pools[NAME]` as parsed.
 * @param ctx - the pool's name and the config file.
 * @param fs - used to check `root` and to read /etc/passwd and /etc/group.
 * @returns the pool, or every problem with it.
 */
export async function validatePool(value: unknown, ctx: PoolContext, fs: ConfigFs): Promise<ValidatedPool> {
  const problems = nameProblems(ctx);
  if (!isTable(value)) {
    const detail = `must be a table ([pools.${ctx.name}]), got ${formatValue(value)}`;
    return { ok: false, problems: [...problems, configProblem(ctx.file, detail, { pool: ctx.name })] };
  }
  const flat = flattenTable(value, POOL_MAPS);
  const checked = check(poolSchema, flat, { file: ctx.file, pool: ctx.name, knownKeys: POOL_KEYS });
  const listenText = stringAt(flat, 'listen');
  const rootText = stringAt(flat, 'root');
  const listen = listenText === undefined ? undefined : resolveListen(listenText, ctx);
  const root = rootText === undefined ? undefined : await resolveRoot(rootText, ctx, fs);
  const statusText = stringAt(flat, 'pm.status_listen');
  const statusListen = statusText === undefined ? undefined : resolveListen(statusText, ctx, 'pm.status_listen');
  const pageText = stringAt(flat, 'overload_page');
  const page = pageText === undefined ? undefined : await resolveFile(pageText, 'overload_page', ctx, fs);
  if (!checked.ok) problems.push(...checked.problems);
  for (const r of [listen, root, page, statusListen]) if (r?.ok === false) problems.push(r.problem);
  if (checked.ok) problems.push(...runtimeProblems(checked.value, ctx));
  const identity = checked.ok ? await resolveIdentity(checked.value, ctx, fs) : undefined;
  if (identity?.ok === false) problems.push(...identity.problems);
  if (problems.length > 0 || !checked.ok || listen?.ok !== true || root?.ok !== true || page?.ok === false || identity?.ok !== true
    || statusListen?.ok === false)
    return { ok: false, problems };
  return { ok: true, pool: buildPool(checked.value, ctx, listen.value, root.value, identity.value, statusListen?.value) };
}

/**
 * Keys that only make sense together: a handler pool needs its module, and only it takes one;
 * `isolation = "fork"` and `preload` are python's, and a fork keeps nothing (`state.* = keep`).
 */
function runtimeProblems(t: PoolTable, ctx: PoolContext): ConfigError[] {
  const pm = pmProblems(t, ctx);
  if (pm !== undefined) return [pm];
  const isolation = isolationProblem(t, ctx) ?? dispatchProblem(t, ctx);
  if (isolation !== undefined) return [isolation];
  const hasModule = t['handler.module'] !== undefined;
  if (t.runtime === 'handler' && !hasModule) {
    return [configProblem(ctx.file, 'runtime "handler" needs handler.module (the module exporting the handler)',
      { pool: ctx.name, key: 'handler.module' })];
  }
  if (t.runtime !== 'handler' && hasModule) {
    return [configProblem(ctx.file, `handler.module is only used with runtime = "handler", got runtime = "${t.runtime}"`,
      { pool: ctx.name, key: 'handler.module' })];
  }
  // Only `false` can be told from the default: it would be silently meaningless elsewhere.
  if (t.runtime !== 'exec' && !t['exec.kill_group_at_end']) {
    return [configProblem(ctx.file, `exec.kill_group_at_end is only used with runtime = "exec", got runtime = "${t.runtime}"`,
      { pool: ctx.name, key: 'exec.kill_group_at_end' })];
  }
  if (t.runtime !== 'exec' && t['exec.worker'] !== undefined) {
    return [configProblem(ctx.file, `exec.worker is only used with runtime = "exec", got runtime = "${t.runtime}"`,
      { pool: ctx.name, key: 'exec.worker' })];
  }
  return [];
}

/** `isolation = "fork"` and `preload` need `runtime = "python"`; a fork keeps no state. */
function isolationProblem(t: PoolTable, ctx: PoolContext): ConfigError | undefined {
  const at = (key: string, detail: string): ConfigError => configProblem(ctx.file, detail, { pool: ctx.name, key });
  if (t.isolation === 'fork' && t.runtime !== 'python') {
    return at('isolation', `isolation = "fork" is only available with runtime = "python", got runtime = "${t.runtime}"`);
  }
  if (t.preload.length > 0 && t.runtime !== 'python') {
    return at('preload', `preload is only used with runtime = "python", got runtime = "${t.runtime}"`);
  }
  for (const key of ['state.modules', 'state.globals'] as const) {
    if (t.isolation === 'fork' && t[key] === 'keep') {
      return at(key, `${key} = "keep" cannot apply with isolation = "fork": every request starts from a fresh fork`);
    }
  }
  return undefined;
}

/**
 * `dispatch = "direct"`: the workers accept the web server's connections themselves, so only a
 * population the supervisor sizes without seeing connections (`pm = "static"`) fits, and, for
 * `runtime = "exec"`, the python worker (its poll loop accepts while no script runs).
 */
function dispatchProblem(t: PoolTable, ctx: PoolContext): ConfigError | undefined {
  if (t.dispatch !== 'direct') return undefined;
  const at = (key: string, detail: string): ConfigError => configProblem(ctx.file, detail, { pool: ctx.name, key });
  if (t.runtime === 'exec' && t['exec.worker'] === 'node') {
    return at('exec.worker', 'dispatch = "direct" with runtime = "exec" needs the python worker, got exec.worker = "node": '
      + 'the Node exec worker accepts no connections itself (use dispatch = "relay", or leave exec.worker unset)');
  }
  if (t.pm !== 'static') {
    return at('pm', `dispatch = "direct" needs pm = "static", got pm = "${t.pm}": `
      + 'with direct accept the supervisor sees no connection, so it cannot fork on demand or by idle count');
  }
  if (t['pm.status_path'] !== undefined && t['pm.status_listen'] === undefined) {
    return at('pm.status_path', 'dispatch = "direct" serves pm.status_path on pm.status_listen only (the workers, not the '
      + 'supervisor, accept on listen): set pm.status_listen, or use ping.path, which the workers answer');
  }
  if (t['access.log'] !== undefined) {
    return at('access.log', 'access.log needs dispatch = "relay": with "direct" the supervisor sees no request (each worker logs its own request lines)');
  }
  if (t.request_slowlog_timeout > 0) {
    return at('request_slowlog_timeout', 'request_slowlog_timeout needs dispatch = "relay": with "direct" the supervisor sees no request while it runs');
  }
  if (t.listen.startsWith('systemd:')) {
    return at('listen', `dispatch = "direct" needs a unix socket path or host:port, got listen = "${t.listen}"`);
  }
  return undefined;
}

/** PHP-FPM's dynamic rules: min_spare ≤ start_servers ≤ max_spare ≤ max_children. */
function pmProblems(t: PoolTable, ctx: PoolContext): ConfigError | undefined {
  if (t.pm !== 'dynamic') return undefined;
  const max = t['pm.max_children'];
  const min = t['pm.min_spare_servers'];
  const spare = t['pm.max_spare_servers'];
  const start = t['pm.start_servers'];
  const at = (key: string, detail: string): ConfigError => configProblem(ctx.file, detail, { pool: ctx.name, key });
  if (min > spare) return at('pm.min_spare_servers', `pm.min_spare_servers must be ≤ pm.max_spare_servers (${spare}), got ${min}`);
  if (spare > max) return at('pm.max_spare_servers', `pm.max_spare_servers must be ≤ pm.max_children (${max}), got ${spare}`);
  if (start !== undefined && (start < min || start > spare)) {
    return at('pm.start_servers', `pm.start_servers must be between pm.min_spare_servers (${min}) and pm.max_spare_servers (${spare}), got ${start}`);
  }
  return undefined;
}
