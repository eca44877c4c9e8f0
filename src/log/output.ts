// This file implements where a daemon's log lines go from the perspective of an operator who
// rotates log files: standard output (the default, for journald), or a file (`error_log`)
// opened for appending and reopened on SIGUSR1, so that logrotate's rename + USR1 moves every
// later line to the new file. Writes are synchronous: one write(2) per line, whole lines.
import { pino } from 'pino';

/** A log destination lines are written to; pino writes through `write`. */
export interface LogOutput {
  /** The file, or `undefined` for standard output. */
  readonly file: string | undefined;
  /** Writes text (whole lines, each ending in `\n`). */
  write(text: string): void;
  /** Opens the file again by its path (after a rename); nothing for standard output. */
  reopen(): void;
}

/**
 * Opens the destination: `file` for appending (its directory created when missing, mode
 * 0640 for a new file), or fd 1.
 *
 * @throws Error (with the errno `code`) when the file cannot be opened.
 * @see PHP-FPM `error_log`; logrotate(8) `postrotate` … `kill -USR1`
 */
export function openLogOutput(file: string | undefined): LogOutput {
  if (file === undefined) {
    const stdout = pino.destination({ dest: 1, sync: true });
    return { file, write: (text) => stdout.write(text), reopen: () => undefined };
  }
  const stream = pino.destination({ dest: file, sync: true, append: true, mkdir: true, mode: 0o640 });
  return {
    file,
    write: (text) => stream.write(text),
    reopen: () => { stream.reopen(); },
  };
}
