// This file implements the CLI's view of the outside world from the perspective of a command:
// where text goes and how a command reports its exit code, so that commands run in tests
// without touching the real process.

/** Where a command writes. Text is written as given (include the newline). */
export interface CliIo {
  /** Normal output (the config `check` prints, `--help`, `--version`). */
  readonly stdout: (text: string) => void;
  /** Diagnostics: errors, one per line. */
  readonly stderr: (text: string) => void;
}

/** One CLI invocation: its io, and the exit code the command that ran sets. */
export interface CliContext {
  /** Where commands write. */
  readonly io: CliIo;
  /** The exit code `main()` exits with; `0` until a command sets it. */
  exitCode: number;
}

/** The default path of `--config`, as packages install it. */
export const DEFAULT_CONFIG_PATH = '/etc/cgi-fpm/cgi-fpm.toml';

/** The `--config` / `-c` option shared by the commands that read a config file. */
export const configOption = {
  alias: 'c',
  type: 'string',
  default: DEFAULT_CONFIG_PATH,
  requiresArg: true,
  normalize: true,
  describe: 'path of the TOML config file',
} as const;
