// This file implements the closed sets of the configuration from the perspective of both the
// TOML schema (which validates against them) and the normalized types: log levels, runtimes, pm
// modes, state policies, isolations, stderr modes.

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

/**
 * The worker process of an `exec` pool: `python` (a small python process that starts each
 * script with posix_spawn: no fork of the worker, ~9 MB) or `node` (the Node worker, ~50 MB,
 * which forks itself for each script).
 */
export const EXEC_WORKERS = ['python', 'node'] as const;

/** One of {@link EXEC_WORKERS}. */
export type ExecWorker = (typeof EXEC_WORKERS)[number];

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

/**
 * How a pool's requests reach its workers: `relay` (the supervisor accepts, routes and relays
 * each request to a free worker) or `direct` (the workers accept on the pool's socket
 * themselves, PHP-FPM's model; `runtime = "handler"` with `pm = "static"` only).
 * @see docs/DESIGN.md "Direct accept"
 */
export const DISPATCH_MODES = ['relay', 'direct'] as const;

/** One of {@link DISPATCH_MODES}. */
export type DispatchMode = (typeof DISPATCH_MODES)[number];
