// This file implements the daemon's extra log files (`access.log`, `slowlog`) from the
// perspective of an operator who rotates them with logrotate: each path is opened once, shared
// by every pool that names it (and kept across reloads), appended to with one write(2) per entry,
// and reopened by path on SIGUSR1 as `error_log` is (log/output.ts). `-` is standard output.
import type { Logger } from './logger.ts';
import { openLogOutput, type LogOutput } from './output.ts';

/** The path that means the daemon's standard output (`access.log = "-"`). */
export const STDOUT_PATH = '-';

/** The open log files of a daemon, by path. */
export class LogFiles {
  readonly #open = new Map<string, LogOutput>();
  readonly #failed = new Set<string>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Opens `path` for appending (its directory created; `-`: standard output), or returns it
   * when already open.
   * @throws Error (with the errno `code`) when it cannot be opened
   */
  open(path: string): LogOutput {
    const open = this.#open.get(path);
    if (open !== undefined) return open;
    const output = openLogOutput(path === STDOUT_PATH ? undefined : path);
    this.#open.set(path, output);
    return output;
  }

  /**
   * Appends `text` (whole lines) to `path`, opening it if needed; a file that cannot be opened
   * or written is logged (once per path until it works again) and the text dropped: a log file
   * never fails a request.
   */
  write(path: string, text: string): void {
    try {
      this.open(path).write(text);
      this.#failed.delete(path);
    } catch (err) {
      if (this.#failed.has(path)) return;
      this.#failed.add(path);
      this.#log.error({ file: path, err: (err as Error).message }, 'cannot write log file');
    }
  }

  /** The open files (paths), standard output excluded. */
  get files(): string[] {
    return [...this.#open.keys()].filter((p) => p !== STDOUT_PATH);
  }

  /** SIGUSR1: opens every file again by its path (logrotate renamed it); logs each outcome. */
  reopen(): void {
    for (const [path, output] of this.#open) {
      if (path === STDOUT_PATH) continue;
      try {
        output.reopen();
        this.#failed.delete(path);
        this.#log.info({ file: path }, 'log file reopened');
      } catch (err) {
        this.#log.error({ file: path, err: (err as Error).message }, 'cannot reopen the log file, still writing to the old one');
      }
    }
  }
}
