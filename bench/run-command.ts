// This file implements running a short external command from the perspective of the bench:
// its output collected, its duration bounded (SIGKILL past the bound), failures as errors that
// name the command and show what it printed.
import { spawn } from 'node:child_process';

/** What a finished command printed. */
export interface CommandOutput {
  /** Everything written to stdout, as UTF-8. */
  readonly stdout: string;
  /** Everything written to stderr, as UTF-8. */
  readonly stderr: string;
}

/** Options for {@link runCommand}. */
export interface RunCommandOptions {
  /** Killed with SIGKILL once this many milliseconds pass. */
  readonly timeoutMs: number;
  /** Extra environment variables, merged over `process.env`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Inherit stdout/stderr (the user watches, e.g. apt-get) instead of collecting them. */
  readonly inherit?: boolean;
}

/**
 * Runs `file args…` to completion.
 *
 * @returns its output once it exits with code 0
 * @throws Error naming the command with its exit code or signal and the end of its output
 *   (also when it cannot be spawned or outlives `timeoutMs`)
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: RunCommandOptions,
): Promise<CommandOutput> {
  const shown = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { ...process.env, ...options.env },
      stdio: options.inherit === true ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`bench: ${shown}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const how = signal === null ? `exit code ${code}` : `signal ${signal} (bound ${options.timeoutMs} ms)`;
      const said = `${stderr}${stdout}`.trim().slice(-2000);
      reject(new Error(`bench: ${shown}: ${how}${said === '' ? '' : `\n${said}`}`));
    });
  });
}
