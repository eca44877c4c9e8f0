// This file implements writing a loaded config back as TOML from the perspective of an operator
// running `cgi-fpm check`: every key with its effective value (defaults applied, paths resolved)
// in PHP-FPM's spellings, quoted where dotted, readable by `loadConfig` again.

import { stringify } from 'smol-toml';
import { formatClientRange } from './allowed-clients.ts';
import { formatListenAddress, formatSocketMode } from './listen.ts';
import type { ListenAddress } from './listen.ts';
import type { DaemonConfig, GlobalConfig, PoolConfig } from './schema.ts';
import { formatDurationMs } from './units.ts';

/** A duration as the file spells it: `0` (off) as the number 0, else `"60s"`, `"1500ms"`. */
function duration(ms: number): string | number {
  return ms === 0 ? 0 : formatDurationMs(ms);
}

/** `listen` as the file spells it: a unix path as is, TCP as `HOST:PORT` / `[IPv6]:PORT`. */
function listenValue(address: ListenAddress): string {
  return address.kind === 'unix' ? address.path : formatListenAddress(address);
}

/** One pool as a TOML table with PHP-FPM key spellings, in the order docs/config.md lists them. */
export function poolToToml(pool: PoolConfig): Record<string, unknown> {
  return {
    listen: listenValue(pool.listen.address),
    'listen.mode': formatSocketMode(pool.listen.mode),
    ...(pool.listen.owner === undefined ? {} : { 'listen.owner': pool.listen.owner }),
    ...(pool.listen.group === undefined ? {} : { 'listen.group': pool.listen.group }),
    'listen.backlog': pool.listen.backlog,
    'listen.max_connections': pool.listen.maxConnections,
    ...(pool.listen.allowedClients === undefined ? {} : { 'listen.allowed_clients': pool.listen.allowedClients.map(formatClientRange) }),
    'listen.mpxs_conns': pool.listen.mpxsConns,
    root: pool.root,
    ...(pool.user === undefined ? {} : { user: pool.user.name, group: pool.user.groupName }),
    ...(pool.umask === undefined ? {} : { umask: formatSocketMode(pool.umask) }),
    match: [...pool.match],
    require_executable: pool.requireExecutable,
    runtime: pool.runtime,
    pm: pool.pm.mode,
    'pm.max_children': pool.pm.maxChildren,
    'pm.start_servers': pool.pm.startServers,
    'pm.min_spare_servers': pool.pm.minSpareServers,
    'pm.max_spare_servers': pool.pm.maxSpareServers,
    'pm.process_idle_timeout': duration(pool.pm.processIdleTimeoutMs),
    'pm.max_requests': pool.pm.maxRequests,
    'pm.max_memory': pool.pm.maxMemoryBytes,
    request_slowlog_timeout: duration(pool.requestSlowlogTimeoutMs),
    ...(pool.slowlog === undefined ? {} : { slowlog: pool.slowlog }),
    slowlog_stack: pool.slowlogStack,
    ...(pool.status.path === undefined ? {} : { 'pm.status_path': pool.status.path }),
    ...(pool.status.listen === undefined ? {} : { 'pm.status_listen': listenValue(pool.status.listen) }),
    ...(pool.status.pingPath === undefined ? {} : { 'ping.path': pool.status.pingPath }),
    'ping.response': pool.status.pingResponse,
    ...(pool.access.log === undefined ? {} : { 'access.log': pool.access.log }),
    'access.format': pool.access.format,
    ...(pool.overloadPage === undefined ? {} : { overload_page: pool.overloadPage }),
    request_terminate_timeout: duration(pool.requestTerminateTimeoutMs),
    'queue.max': pool.queue.max,
    'queue.timeout': duration(pool.queue.timeoutMs),
    clear_env: pool.clearEnv,
    stderr: pool.stderr,
    dispatch: pool.dispatch,
    ...(pool.exec.worker === undefined ? {} : { 'exec.worker': pool.exec.worker }),
    'python.executable': pool.python.executable,
    isolation: pool.isolation,
    preload: [...pool.preload],
    'state.modules': pool.state.modules,
    'state.globals': pool.state.globals,
    ...(pool.handler.module === undefined ? {} : { 'handler.module': pool.handler.module }),
    'handler.concurrency': pool.handler.concurrency,
    env: { ...pool.env },
  };
}

/** `[global]` with its key spellings; `control_socket` only when set (absent means none). */
export function globalToToml(global: GlobalConfig): Record<string, unknown> {
  return {
    log_level: global.logLevel,
    ...(global.controlSocket === undefined ? {} : { control_socket: global.controlSocket }),
    process_control_timeout: duration(global.processControlTimeoutMs),
    client_header_timeout: duration(global.clientHeaderTimeoutMs),
    keepalive_timeout: duration(global.keepaliveTimeoutMs),
    ...(global.errorLog === undefined ? {} : { error_log: global.errorLog }),
    ...(global.fastcgiTempPath === undefined ? {} : { fastcgi_temp_path: global.fastcgiTempPath }),
  };
}

/**
 * The effective config as TOML: a comment naming the file (and each included file), `[global]`, then one
 * `[pools.NAME]` table per pool (with its `env` as a `[pools.NAME.env]` table). Loading the
 * result gives a config equal to `config` (apart from `file` and `included`).
 */
export function formatConfigToml(config: DaemonConfig): string {
  // defineProperty, so that a pool named `__proto__` is a key and not a prototype.
  const pools: Record<string, unknown> = {};
  for (const pool of config.pools) {
    Object.defineProperty(pools, pool.name, { value: poolToToml(pool), enumerable: true });
  }
  const body = stringify({ global: globalToToml(config.global), pools });
  const included = (config.included ?? []).map((f) => `# with the pools of ${JSON.stringify(f)} (include)\n`).join('');
  return `# effective configuration of ${JSON.stringify(config.file)} (defaults applied, paths resolved)\n${included}\n${body}\n`;
}
