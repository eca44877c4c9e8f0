// This file implements the normalized configuration types from the perspective of the layers
// that consume a loaded config (supervisor, worker, cli): nested, camelCase, units in the names,
// defaults applied, paths absolute, deeply frozen. The TOML shape lives in toml-schema.ts.

import type {
  AccessConfig, ExecConfig, HandlerConfig, ListenConfig, PmConfig, PoolUser, PythonConfig, QueueConfig, StateConfig,
  StatusConfig,
} from './schema-parts.ts';
import type { DispatchMode, Isolation, LogLevel, Runtime, StderrMode } from './schema-values.ts';

export type { ListenAddress } from './listen.ts';
export { formatListenAddress } from './listen.ts';
export * from './schema-values.ts';
export type * from './schema-parts.ts';

/** A whole loaded config file. */
export interface DaemonConfig {
  /** Absolute path of the config file this was loaded from. */
  readonly file: string;
  /**
   * Absolute paths of the files its `include` globs matched, in the order they were read
   * (sorted per glob); their pools follow the main file's. Absent when nothing was included.
   * @defaultValue absent
   * @see PHP-FPM `include`
   */
  readonly included?: readonly string[];
  /** Daemon-wide settings, from the `[global]` table. */
  readonly global: GlobalConfig;
  /** The pools, in the order the file defines them; at least one. */
  readonly pools: readonly PoolConfig[];
}

/** The `[global]` table. */
export interface GlobalConfig {
  /**
   * Least severe level that is logged.
   * @defaultValue `'info'`
   * @see PHP-FPM `log_level`
   */
  readonly logLevel: LogLevel;
  /**
   * Absolute path of the unix socket (mode `0600`) on which the daemon answers `cgi-fpm status`,
   * `reload` and `stop`; `undefined` (the key absent) means no control socket. A relative path
   * in the file is relative to the config file's directory; at most 107 bytes once absolute.
   * @defaultValue `undefined`
   * @see PHP-FPM `pm.status_path` (the status page this replaces) and `fpm_signals`
   */
  readonly controlSocket: string | undefined;
  /**
   * How long workers get to finish the request they run when the daemon stops or a reload
   * retires them, in milliseconds; past it they (and their CGI process groups) are killed.
   * `0` means no limit: wait for every request in flight (each bounded by its pool's
   * `request_terminate_timeout`). systemd's `TimeoutStopSec` must be longer.
   * @defaultValue `10000` (`"10s"` in the file)
   * @see PHP-FPM `process_control_timeout`
   */
  readonly processControlTimeoutMs: number;
  /**
   * How long a web-server connection may take to send a request's FCGI_BEGIN_REQUEST and its
   * complete PARAMS, in milliseconds, counted from the accept (or from the first byte after a
   * kept-alive connection's idle time); past it the connection is closed (slowloris). `0` means
   * no limit.
   * @defaultValue `60000` (`"60s"` in the file)
   * @see nginx `client_header_timeout`
   */
  readonly clientHeaderTimeoutMs: number;
  /**
   * How long a web-server connection may stay open with no request in flight and nothing sent
   * (a kept-alive connection between requests), in milliseconds; past it the supervisor closes
   * it. Longer than nginx's upstream `keepalive_timeout` (60 s) so that nginx closes first.
   * `0` means no limit.
   * @defaultValue `75000` (`"75s"` in the file)
   * @see nginx `keepalive_timeout`
   */
  readonly keepaliveTimeoutMs: number;
  /**
   * Absolute path of the file the daemon (and its workers, through it) logs to, appended to and
   * reopened on SIGUSR1; `undefined` logs to standard output. A relative path in the file is
   * relative to the config file's directory. Read at start: a reload does not move the log.
   * @defaultValue `undefined` (standard output)
   * @see PHP-FPM `error_log`
   */
  readonly errorLog?: string | undefined;
  /**
   * Absolute path of the directory where the supervisor spills a response it holds back past
   * 64 KiB while the request body is still arriving (the response waits for the body: nginx
   * stops sending the body once it has the response head). Each file is created mode `0600` and
   * unlinked at once, so nothing remains after a crash. `undefined` uses the system's temporary
   * directory (`os.tmpdir()`: `$TMPDIR`, else `/tmp`). A relative path in the file is relative
   * to the config file's directory.
   * @defaultValue `undefined` (the system's temporary directory)
   * @see nginx `fastcgi_temp_path`
   */
  readonly fastcgiTempPath?: string | undefined;
}

/** One pool: a script root served by its own workers. */
export interface PoolConfig {
  /**
   * The pool's name, from `[pools.NAME]`; matches `/^[A-Za-z0-9_-]+$/`.
   * @see PHP-FPM `[www]` pool sections
   */
  readonly name: string;
  /** Where and how the pool listens. */
  readonly listen: ListenConfig;
  /**
   * Absolute real path (symlinks resolved) of an existing directory holding the scripts.
   * Scripts outside it are refused.
   * @see PHP-FPM `chroot` / `security.limit_extensions` (the containment they give)
   */
  readonly root: string;
  /**
   * picomatch globs a script's path relative to `root` must match; a glob without `/` is
   * matched against the basename.
   * @defaultValue `['**']` (every file)
   * @see PHP-FPM `security.limit_extensions`
   */
  readonly match: readonly string[];
  /**
   * Scripts need the `x` bit (`access(X_OK)`), as under CGI, in every runtime: else `403`.
   * `false` lets `python` and `node` pools run `0644` scripts. @defaultValue `true`
   */
  readonly requireExecutable: boolean;
  /**
   * How a script runs.
   * @defaultValue `'exec'`
   */
  readonly runtime: Runtime;
  /**
   * Whom the pool's workers run as (and so its scripts, their children and the python
   * runner); `undefined` runs them as the daemon. Only a daemon started as root can switch:
   * otherwise it refuses to start such a pool unless the user is the daemon's own.
   * @defaultValue `undefined`
   * @see PHP-FPM `user`, `group`
   */
  readonly user: PoolUser | undefined;
  /**
   * The file mode creation mask the workers set before loading the runtime, so files the
   * scripts create get it (`0o027`: no write for the group, nothing for others); `undefined`
   * keeps the daemon's.
   * @defaultValue `undefined`
   * @see umask(2); systemd's `UMask=`
   */
  readonly umask: number | undefined;
  /** The process manager. */
  readonly pm: PmConfig;
  /**
   * Longest a request may run, in milliseconds, before its script is killed and the client
   * answered `504`; `0` means no limit.
   * @defaultValue `60000` (`"60s"` in the file)
   * @see PHP-FPM `request_terminate_timeout`
   */
  readonly requestTerminateTimeoutMs: number;
  /**
   * A request running longer than this is logged (`slow request`, with script, pid, elapsed)
   * while it runs, in ms; `0` = off.
   * @defaultValue `0`
   * @see PHP-FPM `request_slowlog_timeout`
   */
  readonly requestSlowlogTimeoutMs: number;
  /**
   * Absolute path of the file the supervisor appends a slow request's entry to (script,
   * method, URI, and a stack sample of the running script for `python`, `node` and `handler`
   * pools) when it passes `request_slowlog_timeout`; `undefined`: only the log line.
   * Reopened on SIGUSR1.
   * @defaultValue `undefined`
   * @see PHP-FPM `slowlog`
   */
  readonly slowlog: string | undefined;
  /**
   * `node` and `handler` pools with `request_slowlog_timeout` and `slowlog` set: run a sampler
   * thread in each worker that puts the running JavaScript stack in the slow log entry, even
   * while the script keeps the event loop busy (about 9 MB more resident memory per worker).
   * `false`: no thread, and the entry has only the async resources the script waits on. Other
   * pools (and pools without a slow log) never start the thread.
   * @defaultValue `true`
   */
  readonly slowlogStack: boolean;
  /** The status and ping pages the supervisor answers itself (never queued behind scripts). */
  readonly status: StatusConfig;
  /** The access log the supervisor writes, one line per answer. */
  readonly access: AccessConfig;
  /** The queue of requests waiting for an idle worker. */
  readonly queue: QueueConfig;
  /**
   * An HTML file sent as the body of `503` answers (queue full, queue timeout, backing off)
   * instead of the built-in page; absolute path.
   */
  readonly overloadPage: string | undefined;
  /**
   * Extra environment variables every script sees (added after the CGI variables).
   * @defaultValue `{}`
   * @see PHP-FPM `env[NAME]`
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * When true, scripts see only the CGI variables plus `env`; when false they also inherit
   * the daemon's environment.
   * @defaultValue `true`
   * @see PHP-FPM `clear_env`
   */
  readonly clearEnv: boolean;
  /**
   * `log`: each stderr line of a script is logged. `forward`: also sent to the web server as
   * `FCGI_STDERR` (nginx logs it in its error log).
   * @defaultValue `'log'`
   * @see PHP-FPM `catch_workers_output` / `decorate_workers_output`
   */
  readonly stderr: StderrMode;
  /**
   * `relay`: the supervisor accepts the web server's connections and relays each request to a
   * free worker. `direct`: the workers accept on the pool's socket themselves (the supervisor
   * binds it, spawns, watches and recycles them, out of the per-request path);
   * `runtime = "handler"` or `"python"` with `pm = "static"` only.
   * @defaultValue `'relay'`
   * @see docs/DESIGN.md "Direct accept"
   */
  readonly dispatch: DispatchMode;
  /** Settings of `runtime = "exec"`. */
  readonly exec: ExecConfig;
  /** Settings of `runtime = "python"`. */
  readonly python: PythonConfig;
  /**
   * `persistent`: scripts run in the worker's warm interpreter, put back after each request
   * (`state.*`); `fork`: each request runs in a fresh fork of it and the interpreter itself
   * never runs script code (`runtime = "python"` only).
   * @defaultValue `'persistent'`
   * @see docs/ISOLATION.md
   */
  readonly isolation: Isolation;
  /**
   * Modules the interpreter imports at start, before any request (`runtime = "python"`):
   * under `fork` every child gets them already imported; under `persistent` they stay
   * loaded, and what requests change in them is put back.
   * @defaultValue `[]`
   */
  readonly preload: readonly string[];
  /** What the persistent runtimes (`python`, `node`) keep between requests. */
  readonly state: StateConfig;
  /** Settings of `runtime = "handler"`. */
  readonly handler: HandlerConfig;
}
