// This file implements the step from a pool table to a PoolConfig from the perspective of the
// daemon: `listen` and `root` are resolved against the config file's directory (the root
// checked on disk), and PHP-FPM spellings become nested camelCase fields.

import { resolve } from 'node:path';
import type { ConfigError } from '../errors.ts';
import type { PoolIdentity } from './identity.ts';
import { parseListenAddress } from './listen.ts';
import { configProblem, describeSystemError } from './problems.ts';
import type { ListenAddress, PoolConfig } from './schema.ts';
import type { PoolTable } from './toml-schema.ts';
import type { ConfigFs, PoolContext } from './config-fs.ts';

export type { ConfigFs, PoolContext } from './config-fs.ts';

/** A resolved value, or the problem with it. */
export type Resolved<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: ConfigError };

/**
 * Resolves `root` against the config file's directory and checks that it is an existing
 * directory.
 *
 * @returns its real path (symlinks resolved), or the problem naming the value and the reason.
 */
export async function resolveRoot(value: string, ctx: PoolContext, fs: ConfigFs): Promise<Resolved<string>> {
  const absolute = resolve(ctx.baseDir, value);
  const shown = absolute === value ? JSON.stringify(value) : `${JSON.stringify(value)} (${absolute})`;
  const fail = (why: string, options?: ErrorOptions): Resolved<string> => {
    const detail = `root must be an existing directory, got ${shown}: ${why}`;
    return {
      ok: false,
      problem: configProblem(ctx.file, detail, { pool: ctx.name, key: 'root' }, undefined, options),
    };
  };
  try {
    const real = await fs.realpath(absolute);
    return (await fs.stat(real)).isDirectory() ? { ok: true, value: real } : fail('not a directory');
  } catch (error) {
    return fail(describeSystemError(error), { cause: error });
  }
}

/**
 * Resolves a file key (`overload_page`) against the config file's directory and checks that it
 * names an existing file that is not a directory.
 *
 * @returns its absolute path (as written, symlinks kept), or the problem naming the value.
 */
export async function resolveFile(value: string, key: string, ctx: PoolContext, fs: ConfigFs): Promise<Resolved<string>> {
  const absolute = resolve(ctx.baseDir, value);
  const shown = absolute === value ? JSON.stringify(value) : `${JSON.stringify(value)} (${absolute})`;
  const fail = (why: string, options?: ErrorOptions): Resolved<string> => ({
    ok: false,
    problem: configProblem(ctx.file, `${key} must be an existing file, got ${shown}: ${why}`, { pool: ctx.name, key }, undefined, options),
  });
  try {
    return (await fs.stat(absolute)).isDirectory() ? fail('a directory') : { ok: true, value: absolute };
  } catch (error) {
    return fail(describeSystemError(error), { cause: error });
  }
}

/**
 * Parses `listen`, a relative unix socket path resolved against the config file's directory.
 */
export function resolveListen(value: string, ctx: PoolContext, key = 'listen'): Resolved<ListenAddress> {
  try {
    return { ok: true, value: parseListenAddress(value, ctx.baseDir) };
  } catch (error) {
    const detail = `${key}: ${error instanceof Error ? error.message : String(error)}`;
    return { ok: false, problem: configProblem(ctx.file, detail, { pool: ctx.name, key }) };
  }
}

/** Builds the {@link PoolConfig} of a validated table, its listen address, root and identity. */
export function buildPool(
  t: PoolTable, ctx: PoolContext, address: ListenAddress, root: string, identity: PoolIdentity,
  statusListen: ListenAddress | undefined,
): PoolConfig {
  const name = ctx.name;
  const handlerModule = t['handler.module'];
  return {
    name,
    listen: {
      address, mode: t['listen.mode'], backlog: t['listen.backlog'], maxConnections: t['listen.max_connections'],
      owner: identity.listenOwner, group: identity.listenGroup,
      allowedClients: t['listen.allowed_clients'], mpxsConns: t['listen.mpxs_conns'],
    },
    root,
    user: identity.user,
    umask: t.umask,
    match: t.match,
    requireExecutable: t.require_executable,
    runtime: t.runtime,
    pm: pmConfig(t),
    requestSlowlogTimeoutMs: t.request_slowlog_timeout,
    slowlog: t.slowlog === undefined ? undefined : resolve(ctx.baseDir, t.slowlog),
    slowlogStack: t.slowlog_stack,
    status: {
      path: t['pm.status_path'], listen: statusListen, pingPath: t['ping.path'], pingResponse: t['ping.response'],
    },
    access: {
      log: t['access.log'] === undefined || t['access.log'] === '-' ? t['access.log'] : resolve(ctx.baseDir, t['access.log']),
      format: t['access.format'],
    },
    overloadPage: t.overload_page === undefined ? undefined : resolve(ctx.baseDir, t.overload_page),
    requestTerminateTimeoutMs: t.request_terminate_timeout,
    queue: { max: t['queue.max'], timeoutMs: t['queue.timeout'] },
    env: { ...t.env },
    clearEnv: t.clear_env,
    stderr: t.stderr,
    dispatch: t.dispatch,
    exec: { killGroupAtEnd: t['exec.kill_group_at_end'], worker: t['exec.worker'] },
    python: { executable: t['python.executable'] },
    isolation: t.isolation,
    preload: [...t.preload],
    state: { modules: t['state.modules'], globals: t['state.globals'] },
    handler: {
      module: handlerModule === undefined ? undefined : resolve(ctx.baseDir, handlerModule),
      concurrency: t['handler.concurrency'],
    },
  };
}

/** The `pm.*` keys, with PHP-FPM's defaults for the spare counts (capped to `pm.max_children`). */
function pmConfig(t: PoolTable): PoolConfig['pm'] {
  const maxChildren = t['pm.max_children'];
  const minSpareServers = Math.min(t['pm.min_spare_servers'], maxChildren);
  const maxSpareServers = Math.max(minSpareServers, Math.min(t['pm.max_spare_servers'], maxChildren));
  const startServers = t['pm.start_servers'] ?? minSpareServers + Math.floor((maxSpareServers - minSpareServers) / 2);
  return {
    mode: t.pm, maxChildren, startServers, minSpareServers, maxSpareServers,
    processIdleTimeoutMs: t['pm.process_idle_timeout'],
    maxRequests: t['pm.max_requests'],
    maxMemoryBytes: t['pm.max_memory'],
  };
}
