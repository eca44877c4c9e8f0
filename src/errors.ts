// This file implements cgi-fpm's error taxonomy from the perspective of a caller that matches
// errors by their stable `code` (the undici / fastify model): one base class, one subclass per
// boundary carrying that boundary's context, and one registry of codes.

/**
 * Every stable error code cgi-fpm emits, keyed by itself. Callers match `err.code` against
 * these; messages may change, codes do not.
 */
export const ErrorCode = {
  /** FastCGI bytes that break the spec (bad version, bad lengths, truncated pairs). */
  ERR_FCGI_PROTOCOL: 'ERR_FCGI_PROTOCOL',
  /** A FastCGI name-value stream larger than the configured bound. */
  ERR_FCGI_PARAMS_TOO_LARGE: 'ERR_FCGI_PARAMS_TOO_LARGE',
  /** A config file that cannot be read. */
  ERR_CONFIG_READ: 'ERR_CONFIG_READ',
  /** A config file that is not valid TOML. */
  ERR_CONFIG_SYNTAX: 'ERR_CONFIG_SYNTAX',
  /** A config value or key that fails validation (unknown key, bad type, out of range). */
  ERR_CONFIG_INVALID: 'ERR_CONFIG_INVALID',
  /** `SCRIPT_FILENAME` names no existing file. */
  ERR_CGI_SCRIPT_NOT_FOUND: 'ERR_CGI_SCRIPT_NOT_FOUND',
  /** `SCRIPT_FILENAME` refused: outside root, not matched, not executable, bad bytes. */
  ERR_CGI_SCRIPT_REFUSED: 'ERR_CGI_SCRIPT_REFUSED',
  /** A CGI script ended (or overflowed the header bound) before a complete header block. */
  ERR_CGI_NO_HEADERS: 'ERR_CGI_NO_HEADERS',
  /** A CGI response header block that is malformed. */
  ERR_CGI_BAD_HEADERS: 'ERR_CGI_BAD_HEADERS',
  /** A CGI child that could not be started (spawn failed). */
  ERR_CGI_SPAWN: 'ERR_CGI_SPAWN',
  /** A runtime that could not start in a worker (missing interpreter, bad handler module). */
  ERR_RUNTIME_START: 'ERR_RUNTIME_START',
  /** A pool's `user` the daemon cannot switch its workers to (it was not started as root). */
  ERR_POOL_USER: 'ERR_POOL_USER',
  /** A worker process that exited or could not start. */
  ERR_WORKER_EXITED: 'ERR_WORKER_EXITED',
  /** A listener that could not be opened (address in use, bad path, permissions). */
  ERR_LISTEN: 'ERR_LISTEN',
  /**
   * A unix socket the config names (a pool's `listen`, `control_socket`) is live: something
   * answers on it (another daemon on the same config). It is left alone.
   */
  ERR_SOCKET_IN_USE: 'ERR_SOCKET_IN_USE',
  /**
   * Sockets passed by systemd (`LISTEN_FDS`, `LISTEN_FDNAMES`) that do not fit the config: a
   * `systemd:NAME` not passed, a passed socket no pool uses, a malformed variable.
   */
  ERR_LISTEN_FDS: 'ERR_LISTEN_FDS',
  /** A pool's `access.log` or `slowlog` file that cannot be opened at start. */
  ERR_LOG_OPEN: 'ERR_LOG_OPEN',
  /** `request_terminate_timeout` or a queue timeout passed. */
  ERR_TIMEOUT: 'ERR_TIMEOUT',
  /** The control socket cannot be reached (ENOENT, ECONNREFUSED: no daemon), or hung up. */
  ERR_CONTROL_UNAVAILABLE: 'ERR_CONTROL_UNAVAILABLE',
  /** The control socket refused the caller (EACCES, EPERM: it is mode 0600). */
  ERR_CONTROL_DENIED: 'ERR_CONTROL_DENIED',
  /** A control reply that breaks the protocol (not one JSON line of the expected shape). */
  ERR_CONTROL_PROTOCOL: 'ERR_CONTROL_PROTOCOL',
} as const;

/** One of the codes in {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Base class of every error cgi-fpm throws or emits on purpose. Messages read
 * `area: what: detail` with the value and its unit.
 */
export class DaemonError extends Error {
  /** Stable machine-readable code, one of {@link ErrorCode}. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A FastCGI protocol violation by the peer. `requestId` is 0 for connection-level faults. */
export class ProtocolError extends DaemonError {
  readonly requestId: number;

  constructor(message: string, requestId = 0, code: ErrorCode = ErrorCode.ERR_FCGI_PROTOCOL) {
    super(code, message);
    this.requestId = requestId;
  }
}

/** A configuration error naming the file, the dotted key path and the pool (when in a pool). */
export class ConfigError extends DaemonError {
  readonly file: string;
  readonly key: string | undefined;
  readonly pool: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    context: { file: string; key?: string; pool?: string },
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.file = context.file;
    this.key = context.key;
    this.pool = context.pool;
  }
}

/** A failure of one CGI request: the script, and how it ended when it did. */
export class CgiError extends DaemonError {
  readonly scriptFilename: string;
  readonly exitCode: number | null;
  readonly signal: string | null;

  constructor(
    code: ErrorCode,
    message: string,
    context: { scriptFilename: string; exitCode?: number | null; signal?: string | null },
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.scriptFilename = context.scriptFilename;
    this.exitCode = context.exitCode ?? null;
    this.signal = context.signal ?? null;
  }
}

/** A worker process failure. */
export class WorkerError extends DaemonError {
  readonly pid: number | undefined;
  readonly pool: string;

  constructor(code: ErrorCode, message: string, context: { pid?: number; pool: string }, options?: ErrorOptions) {
    super(code, message, options);
    this.pid = context.pid;
    this.pool = context.pool;
  }
}

/** A timeout that passed; `timeoutMs` is the limit that was exceeded. */
export class TimeoutError extends DaemonError {
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number, options?: ErrorOptions) {
    super(ErrorCode.ERR_TIMEOUT, message, options);
    this.timeoutMs = timeoutMs;
  }
}

/** A failure to talk to the daemon over its control socket (`cgi-fpm status`, `reload`, `stop`). */
export class ControlError extends DaemonError {
  /** Absolute path of the control socket. */
  readonly socketPath: string;

  constructor(code: ErrorCode, message: string, context: { socketPath: string }, options?: ErrorOptions) {
    super(code, message, options);
    this.socketPath = context.socketPath;
  }
}
