// This file implements a long-running child process from the perspective of the bench, which
// must stop everything it started: spawned with its output kept, its exit observed, and stopped
// by PID (its whole process group when detached) with SIGTERM, then SIGKILL after a grace.
import { spawn } from 'node:child_process';
import { killQuietly } from '../test/integration/helpers/processes.ts';

/** Options for {@link startChild}. */
export interface ChildOptions {
  /** Run in a new process group and signal the group (`-pid`), children included. */
  readonly detached?: boolean;
  /** Receives stdout chunks as UTF-8; when absent stdout is kept like stderr. */
  readonly onStdout?: (chunk: string) => void;
  /** The child's whole environment; default: the bench's own. */
  readonly env?: Readonly<Record<string, string>>;
  /** Milliseconds between SIGTERM and SIGKILL in {@link Child.stop}. @defaultValue 10000 */
  readonly graceMs?: number;
}

/** A started child process. */
export interface Child {
  /** Its PID (and process group id when detached). */
  readonly pid: number;
  /** Why it is gone (`"exited with code 1"`), or undefined while it runs. */
  gone(): string | undefined;
  /** The last 8000 characters of its stderr (and of stdout without `onStdout`). */
  output(): string;
  /** SIGTERM, SIGKILL after the grace; resolves once it exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Spawns `file args…` with stdin closed.
 *
 * @throws Error when the spawn fails (no such file)
 */
export async function startChild(
  file: string,
  args: readonly string[],
  options: ChildOptions = {},
): Promise<Child> {
  const detached = options.detached ?? false;
  const child = spawn(file, args, {
    detached,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let kept = '';
  const keep = (chunk: string): void => {
    kept = (kept + chunk).slice(-8000);
  };
  child.stdout.setEncoding('utf8').on('data', options.onStdout ?? keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  let gone: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      gone = signal === null ? `exited with code ${code}` : `killed by ${signal}`;
      resolve();
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`bench: cannot start ${file}: ${err.message}`, { cause: err });
  }
  const signal = (name: NodeJS.Signals): void => {
    killQuietly(detached ? -pid : pid, name);
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (gone !== undefined) return;
      signal('SIGTERM');
      const timer = setTimeout(() => {
        signal('SIGKILL');
      }, options.graceMs ?? 10_000);
      await exited;
      clearTimeout(timer);
      // A detached group may keep members after its leader exits (fcgiwrap's children).
      if (detached) signal('SIGKILL');
    })();
    return stopping;
  };
  return { pid, gone: () => gone, output: () => kept, stop };
}
