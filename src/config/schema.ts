// This file implements the normalized configuration types from the perspective of the layers
// that consume a loaded config (supervisor, worker, cli): nested, camelCase, units in the names,
// defaults applied, paths absolute, deeply frozen. The TOML shape lives in toml-schema.ts.

import type { ClientRange } from './allowed-clients.ts';
import type { ListenAddress } from './listen.ts';

export type { ListenAddress } from './listen.ts';
export { formatListenAddress } from './listen.ts';

/** The log levels, least to most severe (pino's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The runtimes a pool can run scripts with: `exec` (fork/exec per request, RFC 3875),
 * `python` and `node` (unmodified CGI scripts kept in memory), `handler` (a Node module
 * exporting a request handler).
 */
export const RUNTIMES = ['exec', 'python', 'node', 'handler'] as const;

/** One of {@link RUNTIMES}. */
export type Runtime = (typeof RUNTIMES)[number];

/** The process manager policies (PHP-FPM `pm`): `static`, `dynamic`, `ondemand`. */
export const PM_MODES = ['static', 'dynamic', 'ondemand'] as const;

/** One of {@link PM_MODES}. */
export type PmMode = (typeof PM_MODES)[number];

/** What survives from one request to the next in a persistent runtime. */
export const STATE_POLICIES = ['reset', 'keep'] as const;

/** One of {@link STATE_POLICIES}. */
export type StatePolicy = (typeof STATE_POLICIES)[number];

/**
 * How far one request of a persistent runtime is kept from the next: `persistent` (the
 * script runs in the warm interpreter, which is put back after each request as `state.*`
 * says) or `fork` (each request runs in a fresh fork of the warm interpreter; python only).
 * @see docs/ISOLATION.md
 */
export const ISOLATIONS = ['persistent', 'fork'] as const;

/** One of {@link ISOLATIONS}. */
export type Isolation = (typeof ISOLATIONS)[number];

/** Where a script's stderr goes. */
export const STDERR_MODES = ['log', 'forward'] as const;

/** One of {@link STDERR_MODES}. */
export type StderrMode = (typeof STDERR_MODES)[number];

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

/** Where and how a pool accepts FastCGI connections. */
export interface ListenConfig {
  /**
   * The address. Several pools may share one; they then must agree on `mode` and `backlog`.
   * @see PHP-FPM `listen`
   */
  readonly address: ListenAddress;
  /**
   * Permission bits of a unix socket (ignored for TCP), e.g. `0o660`.
   * @defaultValue `0o660` (`"0660"` in the file)
   * @see PHP-FPM `listen.mode`
   */
  readonly mode: number;
  /**
   * Length of the kernel's queue of connections not yet accepted.
   * @defaultValue `511`
   * @see PHP-FPM `listen.backlog`
   */
  readonly backlog: number;
  /**
   * Most connections open at once on this listener (pools sharing it must agree); the next one
   * is closed as soon as it is accepted, logged at most once per second. It is what
   * `FCGI_GET_VALUES` answers as `FCGI_MAX_CONNS`.
   * @defaultValue `1000`
   * @see FastCGI 1.0 §4.1 `FCGI_MAX_CONNS`; nginx `worker_connections`
   */
  readonly maxConnections: number;
  /**
   * uid the unix socket is given (ignored for TCP); `undefined` keeps the daemon's. Written as
   * a user name or a numeric uid, resolved against `/etc/passwd` at load.
   * @defaultValue `undefined`
   * @see PHP-FPM `listen.owner`
   */
  readonly owner: number | undefined;
  /**
   * gid the unix socket is given (ignored for TCP); `undefined` keeps the daemon's. Written as
   * a group name or a numeric gid; when only `listen.owner` is written (and found in
   * `/etc/passwd`), that user's primary group, as in PHP-FPM.
   * @defaultValue `undefined` (the owner's primary group when `listen.owner` is set)
   * @see PHP-FPM `listen.group`
   */
  readonly group: number | undefined;
  /**
   * The clients let in (TCP): addresses and CIDR ranges, IPv4 and IPv6 (an IPv4 range also
   * matches the `::ffff:a.b.c.d` form a dual-stack `[::]` listener sees). A connection from
   * any other address is closed as it is accepted, and logged (`client refused`) once per
   * address per minute. `undefined`: every client.
   * @defaultValue `undefined` (any client, as PHP-FPM)
   * @see PHP-FPM `listen.allowed_clients`
   */
  readonly allowedClients: readonly ClientRange[] | undefined;
  /**
   * Whether a connection may carry several requests at once (FastCGI multiplexing, HAProxy's
   * `option mpxs-conns`): `FCGI_GET_VALUES` answers `FCGI_MPXS_CONNS=1` and the supervisor runs
   * up to `FCGI_MAX_REQS` requests of one connection at once, each on its own worker. `false`:
   * one request at a time per connection (a second gets `FCGI_CANT_MPX_CONN`).
   * @defaultValue `true`
   * @see FastCGI spec §4.1 (`FCGI_MPXS_CONNS`), §5.1 (`FCGI_CANT_MPX_CONN`)
   */
  readonly mpxsConns: boolean;
}

/** Whom a pool's workers (and the scripts they start) run as. */
export interface PoolUser {
  /** The uid, from `user`. */
  readonly uid: number;
  /** The gid, from `group`, else the user's primary group. */
  readonly gid: number;
  /** The user's name from `/etc/passwd`, or the uid as digits when it has no entry. */
  readonly name: string;
  /** The group's name from `/etc/group`, or the gid as digits when it has no entry. */
  readonly groupName: string;
  /** The user's home directory from `/etc/passwd` (the workers' `HOME`), if it has an entry. */
  readonly home: string | undefined;
}

/** The process manager of a pool. */
export interface PmConfig {
  /**
   * The policy: `static` keeps `maxChildren` workers; `dynamic` keeps between
   * `minSpareServers` and `maxSpareServers` idle ones; `ondemand` forks when a request waits
   * and stops workers idle for `processIdleTimeoutMs`.
   * @defaultValue `'static'`
   * @see PHP-FPM `pm`
   */
  readonly mode: PmMode;
  /**
   * Most workers at once (each serves one request at a time), at least 1.
   * @defaultValue `5`
   * @see PHP-FPM `pm.max_children`
   */
  readonly maxChildren: number;
  /**
   * Workers forked at start (`dynamic`).
   * @defaultValue `minSpareServers + (maxSpareServers - minSpareServers) / 2` (PHP-FPM's rule)
   * @see PHP-FPM `pm.start_servers`
   */
  readonly startServers: number;
  /** Fewest idle workers (`dynamic`). @defaultValue `1` @see PHP-FPM `pm.min_spare_servers` */
  readonly minSpareServers: number;
  /** Most idle workers (`dynamic`). @defaultValue `3` (at most `maxChildren`) @see PHP-FPM `pm.max_spare_servers` */
  readonly maxSpareServers: number;
  /**
   * A worker idle this long is stopped (`ondemand`), in ms.
   * @defaultValue `10000` (`"10s"`)
   * @see PHP-FPM `pm.process_idle_timeout`
   */
  readonly processIdleTimeoutMs: number;
  /**
   * A worker is replaced (gracefully, after its request) once it served about this many
   * requests; each worker's limit is lowered by a random 0–10 % so workers do not restart
   * together. `0` = never.
   * @defaultValue `0`
   * @see PHP-FPM `pm.max_requests`
   */
  readonly maxRequests: number;
  /**
   * A worker whose resident memory (its own, plus its python child's) exceeds this after a
   * request is replaced, in bytes. `0` = never.
   * @defaultValue `0`
   */
  readonly maxMemoryBytes: number;
}

/** The bounded queue of requests waiting for an idle worker. */
export interface QueueConfig {
  /**
   * Most requests that may wait; one more is answered `503`. `0` means no waiting at all.
   * @defaultValue `100`
   * @see PHP-FPM `listen.backlog` (the closest FPM has: FPM queues in the kernel)
   */
  readonly max: number;
  /**
   * Longest a request waits for a worker, in milliseconds, before it is answered `503`;
   * `0` means no limit.
   * @defaultValue `30000` (`"30s"` in the file)
   */
  readonly timeoutMs: number;
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

/** `exec.*` keys. */
export interface ExecConfig {
  /**
   * When a request ends (its response done, a client abort, `request_terminate_timeout`), SIGKILL
   * what is left in the script's process group: background children (`cmd &`) do not outlive the
   * request. `false` keeps them running, as before (a process that left the group with
   * `setsid` or `setpgid` escapes either way).
   * @defaultValue `true`
   */
  readonly killGroupAtEnd: boolean;
}

/** `pm.status_path`, `pm.status_listen`, `ping.path`, `ping.response`. */
export interface StatusConfig {
  /**
   * The `SCRIPT_NAME` (a URI path) whose requests get the pool's status page instead of a
   * script: PHP-FPM's formats (`?json`, `?full`, `?html`, `?xml`, `?openmetrics`), answered by
   * the supervisor; `undefined`: none.
   * @defaultValue `undefined`
   * @see PHP-FPM `pm.status_path`
   */
  readonly path: string | undefined;
  /**
   * A second address that answers only the status and ping pages (no script runs there), as
   * PHP-FPM 8's; `undefined`: none.
   * @defaultValue `undefined`
   * @see PHP-FPM `pm.status_listen`
   */
  readonly listen: ListenAddress | undefined;
  /**
   * The `SCRIPT_NAME` whose requests get {@link StatusConfig.pingResponse} (`200`, text/plain),
   * for the web server's health checks; `undefined`: none.
   * @defaultValue `undefined`
   * @see PHP-FPM `ping.path`
   */
  readonly pingPath: string | undefined;
  /** The body of a ping answer. @defaultValue `'pong'` @see PHP-FPM `ping.response` */
  readonly pingResponse: string;
}

/** `access.log`, `access.format`. */
export interface AccessConfig {
  /**
   * Absolute path of the access log (appended to, reopened on SIGUSR1), `'-'` for the
   * daemon's standard output, or `undefined` for none.
   * @defaultValue `undefined` (no access log, as PHP-FPM)
   * @see PHP-FPM `access.log`
   */
  readonly log: string | undefined;
  /**
   * The line format: PHP-FPM's `%`-tokens, or `"json"` for one JSON object per line.
   * @defaultValue `'%R - %u %t "%m %r" %s'` (PHP-FPM's)
   * @see PHP-FPM `access.format`
   */
  readonly format: string;
}

/** `python.*` keys. */
export interface PythonConfig {
  /**
   * The interpreter for scripts whose `#!` line names no python (a name looked up in the
   * worker's PATH, or a path); a script's own `#!/usr/bin/python3`, `#!/usr/bin/env python3`
   * (searched in the script's PATH) or `#!/opt/venv/bin/python -u` wins. Each worker starts
   * its runner at start and keeps it.
   * @defaultValue `'python3'`
   */
  readonly executable: string;
}

/** `state.*` keys: what a persistent runtime keeps between requests. */
export interface StateConfig {
  /**
   * `reset`: modules first imported (Python) or required (Node) during a request are dropped
   * after it, so each request imports them fresh, as under CGI; `keep`: they stay loaded (warm).
   * @defaultValue `'reset'`
   */
  readonly modules: StatePolicy;
  /**
   * `reset`: each request runs with fresh script globals (Python: a new `__main__` namespace;
   * Node: properties the script added to `globalThis` are removed); `keep`: they persist.
   * @defaultValue `'reset'`
   */
  readonly globals: StatePolicy;
}

/** `handler.*` keys. */
export interface HandlerConfig {
  /**
   * Absolute path of the module exporting the handler: a node-http `(req, res)` function (an
   * Express app) or an object with `fetch(request)` (a Hono app), as the default export or
   * `module.exports`. Required when `runtime = "handler"`.
   */
  readonly module: string | undefined;
  /**
   * Requests one worker runs at once (each over its own channel).
   * @defaultValue `1`
   */
  readonly concurrency: number;
}
