// This file implements one-shot CLI runs from the perspective of a test of `cgi-fpm check`
// and friends: run the built CLI, bounded in time, and capture exit code and output.
import { spawn } from 'node:child_process';
import { CLI_MAIN } from './paths.ts';
import { EVENT_TIMEOUT_MS } from './wait.ts';

/** What a finished CLI run produced. */
export interface CliResult {
  /** Exit code, or null when killed by a signal (e.g. after the timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node dist/cli/main.js ...args` to completion.
 *
 * @param timeoutMs - SIGKILL after this many milliseconds @defaultValue {@link EVENT_TIMEOUT_MS}
 */
export function runCli(
  args: readonly string[],
  cwd: string,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<CliResult> {
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
