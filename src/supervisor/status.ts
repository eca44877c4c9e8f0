// This file implements the shape of the daemon's status from the perspective of an operator
// (`cgi-fpm status`, `--json`) and of the control socket that carries it: per pool what
// PHP-FPM's status page shows, plus the limits and the crash backoff it hides.

/** The crash backoff of a pool (issue 4): respawns slowed down after repeated worker deaths. */
export interface BackoffStatus {
  /** `none`: respawns happen at once; `backing-off`: the next respawn waits `delayMs`. */
  readonly state: 'none' | 'backing-off';
  /** Current delay before the next respawn, in milliseconds (0 when `none`). */
  readonly delayMs: number;
  /** Deaths counted toward the backoff since the pool last ran well. */
  readonly failures: number;
  /** Cause reported by the last worker that failed at start, if any. */
  readonly lastFailure?: string;
}

/** One pool's counters. Durations in milliseconds; counts since the pool started. */
export interface PoolStatus {
  readonly name: string;
  /** `static`, `dynamic` or `ondemand`. @see PHP-FPM `pm` */
  readonly pm: string;
  readonly runtime: string;
  /** Workers ready with a free channel. @see FPM status `idle processes` */
  readonly idle: number;
  /** Workers running a request. @see FPM status `active processes` */
  readonly busy: number;
  /** Workers forked but not yet ready. */
  readonly spawning: number;
  /** `pm.max_children`. */
  readonly maxChildren: number;
  /** Requests waiting for a worker now. @see FPM status `listen queue` */
  readonly queueLength: number;
  /** Most requests ever waiting at once. @see FPM status `max listen queue` */
  readonly maxQueueLength: number;
  /** `queue.max`. @see FPM status `listen queue len` */
  readonly queueMax: number;
  /** Longest time a request waited in the queue (measured in the supervisor). */
  readonly maxQueueWaitMs: number;
  /** Total time requests waited in the queue; divide by `accepted` for the mean. */
  readonly totalQueueWaitMs: number;
  /** Requests routed to this pool. @see FPM status `accepted conn` */
  readonly accepted: number;
  /** Requests answered 503 (queue full, queue timeout, backing off). */
  readonly overloaded: number;
  /** Times a request found every worker busy with `pm.max_children` running. @see FPM `max children reached` */
  readonly maxChildrenReached: number;
  /** Requests that passed `request_slowlog_timeout`. @see FPM status `slow requests` */
  readonly slowRequests: number;
  /** Workers started after the initial ones: {@link PoolStatus.respawns} + {@link PoolStatus.scaleUps}. */
  readonly restarts: number;
  /** Forks that replaced a worker that died or was recycled. */
  readonly respawns: number;
  /** Forks that added a worker (the pm policy scaling up), not replacing one. */
  readonly scaleUps: number;
  /** Workers that died without being asked to (crashed, killed from outside, failed to start). */
  readonly crashes: number;
  /** Workers the supervisor killed (`request_terminate_timeout`, an abort not honoured, a protocol error). */
  readonly killed: number;
  /** Workers recycled after `pm.max_requests` or `pm.max_memory`. */
  readonly recycled: number;
  /** Most workers busy at once since the pool started. @see FPM status `max active processes` */
  readonly maxActive: number;
  /** When the pool started, ms since the epoch. @see FPM status `start time` */
  readonly startedAtMs: number;
  /**
   * Resident memory of the pool's workers and their children (runtime children, CGI
   * children), in bytes, read from /proc when the status was asked; absent when not sampled.
   */
  readonly rssBytes?: number;
  readonly backoff: BackoffStatus;
  /** Every worker process of the pool (FPM's `full` view). */
  readonly processes: readonly WorkerStatus[];
}

/** A worker's state, in PHP-FPM's words where it has one (`Idle`, `Running`). */
export type WorkerStatusState = 'Starting' | 'Idle' | 'Running' | 'Exiting';

/**
 * One worker, as PHP-FPM's `full` status shows a process: the request it runs, else the last
 * one it ran. Request fields are the web server's params as sent (empty before any request).
 */
export interface WorkerStatus {
  readonly pid: number;
  readonly state: WorkerStatusState;
  /** When it was forked, ms since the epoch. @see FPM `start time` */
  readonly startedAtMs: number;
  /** Requests it has served. @see FPM `requests` */
  readonly requests: number;
  /** The running request's time so far, else the last request's, in µs. @see FPM `request duration` */
  readonly requestDurationUs: number;
  /** `REQUEST_METHOD`. @see FPM `request method` */
  readonly requestMethod: string;
  /** `REQUEST_URI` (with the query). @see FPM `request URI` */
  readonly requestUri: string;
  /** `CONTENT_LENGTH`, bytes. @see FPM `content length` */
  readonly contentLength: number;
  /** `REMOTE_USER`, or `-`. @see FPM `user` */
  readonly user: string;
  /** The script (resolved path). @see FPM `script` */
  readonly script: string;
  /** CPU of the last finished request, % of one CPU; absent while running or not measured. @see FPM `last request cpu` */
  readonly lastRequestCpu?: number;
  /**
   * RSS of the worker and its runtime children after the last request, bytes; absent while
   * running or not measured. @see FPM `last request memory` (there: the script's peak allocation)
   */
  readonly lastRequestMemoryBytes?: number;
  /** RSS of the worker and its children now, bytes, when sampled. */
  readonly rssBytes?: number;
}

/** The whole daemon. */
export interface DaemonStatus {
  readonly pid: number;
  /** `running`, `reloading`, `finishing`, `terminating`. */
  readonly state: string;
  readonly configFile: string;
  /** Start time, ms since the epoch. */
  readonly startedAtMs: number;
  readonly uptimeMs: number;
  /** Successful reloads since start. */
  readonly reloads: number;
  /**
   * True from the start of a drain (SIGTERM, `cgi-fpm stop`, `cgi-fpm drain`): no new
   * connections, requests in flight and queued finish; the ping page answers 503. A reload
   * never drains. (Absent from daemons older than issue 15.)
   */
  readonly draining?: boolean;
  readonly pools: readonly PoolStatus[];
  /** Each listening address and its connections. (Absent from daemons older than issue 15.) */
  readonly listeners?: readonly ListenerStatus[];
}

/** One listening address: its connections, requests, multiplexing and refused clients. */
export interface ListenerStatus {
  /** As written in the config (`0.0.0.0:9000`, `[::]:9000`, `unix:/run/x.sock`). */
  readonly listen: string;
  /** Connections open now. */
  readonly connections: number;
  /** Connections accepted since it opened. @see FPM status `accepted conn` (there: requests) */
  readonly acceptedConnections: number;
  /** Connections closed at accept: the peer was outside `listen.allowed_clients`. */
  readonly refusedConnections: number;
  /** Requests begun on its connections. */
  readonly requests: number;
  /** Requests that began while another request of the same connection was in flight (multiplexing). */
  readonly multiplexedRequests: number;
  /** Most requests in flight at once on one of its connections. */
  readonly maxConcurrentRequests: number;
}

/** The outcome of a reload asked for on the control socket (or by SIGHUP/SIGUSR2). */
export type ReloadResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly errors: readonly string[] };

/** What the control socket needs from the supervisor. */
export interface ControlTarget {
  status(): DaemonStatus;
  /** Reads the workers' memory from /proc for the next {@link ControlTarget.status}; never rejects. */
  sampleMemory?(): Promise<void>;
  /** Reads and checks the config file again and applies it; never throws. */
  reload(): Promise<ReloadResult>;
  /** Starts a graceful stop (as SIGTERM does). */
  stop(): void;
  /**
   * Drains (as SIGTERM does) and resolves once every request finished and the workers are
   * gone: `ok: false` when `process_control_timeout` cut requests short. Never throws.
   */
  drain(): Promise<ReloadResult>;
}
