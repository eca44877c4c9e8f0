// This file implements the parts of a normalized pool's configuration from the perspective of
// the layers that read one concern of a pool (listen, user, pm, queue, exec, status, access log,
// python, state, handler); schema.ts assembles them into PoolConfig.

import type { ClientRange } from './allowed-clients.ts';
import type { ListenAddress } from './listen.ts';
import type { ExecWorker, PmMode, StatePolicy } from './schema-values.ts';

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
  /**
   * The pool's worker process (`exec.worker`): `python` runs `worker.py` with
   * `python.executable` and starts each script with posix_spawn (no fork of a 50 MB process);
   * `node` the Node worker. `undefined`: `python` when `python.executable` is found (a path, or
   * a name in the daemon's `PATH`), else `node`.
   * @defaultValue `undefined`
   */
  readonly worker: ExecWorker | undefined;
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
