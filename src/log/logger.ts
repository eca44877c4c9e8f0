// This file implements cgi-fpm's logging from the perspective of an operator reading stdout:
// one pino root per process, JSON lines on stdout (pretty when stdout is a terminal), child
// loggers bound to {pool, pid} and never to request data.
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import type { LogOutput } from './output.ts';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level written. @defaultValue `'info'` */
  readonly level?: LevelWithSilent;
  /** Human-readable output instead of JSON lines (used when stdout is a TTY). @defaultValue `false` */
  readonly pretty?: boolean;
  /** Fields bound to every line (e.g. `{ pool: 'blog' }`). */
  readonly base?: Record<string, unknown>;
  /**
   * The file descriptor lines go to: 1 (stdout), or 2 (stderr) for a standalone worker, whose
   * stderr Apache mod_fcgid connects to its error log. @defaultValue `1`
   */
  readonly destination?: 1 | 2;
  /**
   * Where lines go instead of `destination`: a log file reopened on SIGUSR1 (`error_log`).
   * Never pretty.
   */
  readonly output?: LogOutput;
}

/**
 * Creates the process's root logger writing to fd 1 (or `options.destination`). Writes are
 * synchronous so that lines of a worker that is about to exit are never lost and lines of
 * several processes sharing one stdout pipe stay whole (each line is one write(2)).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const base = { pid: process.pid, ...options.base };
  const level = options.level ?? 'info';
  const dest = options.destination ?? 1;
  const output = options.output;
  if (output !== undefined) return pino({ level, base }, { write: (text: string) => { output.write(text); } });
  if (options.pretty === true) {
    return pino({ level, base }, pretty({ colorize: true, sync: true, destination: dest }));
  }
  return pino({ level, base }, pino.destination({ dest, sync: true }));
}
