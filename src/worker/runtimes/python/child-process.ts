// This file implements the operating-system side of a python runner from the perspective of
// the object that drives it: the spawn (own process group, channel on fds 3 and 4), the
// moment it is gone for good (exited and every pipe read to its end), the interpreter's own
// output as lines, and SIGKILL to its group.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { DaemonError, ErrorCode } from '../../../errors.ts';
import type { SpawnFunction } from '../exec.ts';
import { LineSplitter } from '../line-splitter.ts';
import type { RuntimeResult } from '../types.ts';

/** A spawned runner and its pipes. */
export interface RunnerProcess {
  readonly proc: ChildProcess;
  /** The interpreter's own fd 1 and fd 2 (subprocesses, crash dumps). */
  readonly out: Readable;
  readonly err: Readable;
  /** The channel to the runner (its fd 3) and from it (its fd 4). */
  readonly input: Writable;
  readonly output: Readable;
}

/** How long the pipes may stay open after the runner exited, in ms (a forked grandchild). */
const PIPES_CLOSE_GRACE_MS = 1000;

const SPAWN_OPTIONS: SpawnOptions = {
  // fd 0: nothing; 1, 2: the interpreter's own output (logged); 3: to it; 4: from it.
  stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
  // Its own process group, so SIGKILL reaches what the scripts started too (signalled as -pid).
  detached: true,
};

/**
 * Spawns `executable args…` as a runner, with `env` as its whole environment (the worker's
 * when absent). A spawn failure that node reports later (ENOENT) comes as an 'error' event
 * on `proc`.
 * @throws DaemonError `ERR_RUNTIME_START` when spawn throws at once.
 */
export function spawnRunner(
  spawn: SpawnFunction,
  executable: string,
  args: readonly string[],
  env?: Readonly<Record<string, string>>,
): RunnerProcess {
  let proc: ChildProcess;
  try {
    proc = spawn(executable, args, env === undefined ? SPAWN_OPTIONS : { ...SPAWN_OPTIONS, env: { ...env } });
  } catch (err) {
    throw startError(executable, err instanceof Error ? err.message : String(err), err);
  }
  const [, out, err, input, output] = proc.stdio as (Readable | Writable | null)[];
  if (!out || !err || !input || !output)
    throw new TypeError('runtime: python: spawn returned a child without pipes');
  // A runner dying makes later writes fail (EPIPE): its exit is handled, not these errors.
  for (const stream of [out, err, input, output]) stream.on('error', () => undefined);
  proc.on('error', () => undefined);
  return {
    proc,
    out: out as Readable,
    err: err as Readable,
    input: input as Writable,
    output: output as Readable,
  };
}

/**
 * Resolves once the runner exited (or never started) and its output pipes were read to their
 * end, or {@link PIPES_CLOSE_GRACE_MS} after the exit (a grandchild holding a pipe); then
 * every pipe is destroyed.
 */
export async function whenGone(runner: RunnerProcess): Promise<RuntimeResult> {
  const readables = [runner.out, runner.err, runner.output];
  const pipesClosed = Promise.all(
    readables.map((stream) =>
      stream.destroyed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            stream.once('close', resolve);
          }),
    ),
  );
  const result = await new Promise<RuntimeResult>((resolve) => {
    runner.proc.once('exit', (exitCode, signal) => {
      resolve({ exitCode, signal });
    });
    runner.proc.once('error', () => {
      // A spawn failure emits 'error' and never 'exit'.
      if (runner.proc.pid === undefined) resolve({ exitCode: null, signal: null });
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, PIPES_CLOSE_GRACE_MS);
  });
  await Promise.race([pipesClosed, grace]);
  clearTimeout(timer);
  for (const stream of [...readables, runner.input]) stream.destroy();
  return result;
}

/** Hands each line of `stream` (the interpreter's own fd 1 or 2) to `onLine`. */
export function readLines(stream: Readable, onLine: (line: string) => void): void {
  const lines = new LineSplitter(onLine);
  stream.on('data', (chunk: Buffer) => {
    lines.push(chunk);
  });
  stream.once('close', () => {
    lines.end();
  });
}

/** SIGKILL to the runner's process group (what scripts started included). */
export function killGroup(proc: ChildProcess): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    proc.kill('SIGKILL'); // not a group leader after all: the process alone
  }
}

/** The error of a runner that could not start: `runtime: python: cannot start "X": detail`. */
export function startError(executable: string, detail: string, cause: unknown): DaemonError {
  return new DaemonError(
    ErrorCode.ERR_RUNTIME_START,
    `runtime: python: cannot start "${executable}": ${detail}`,
    {
      cause,
    },
  );
}
