// This file implements syscall counting from the perspective of a profile that asks how many
// system calls one request costs each process: `strace -c -f -p PID` attached for the length of
// one wrk run, its summary table parsed.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** One row of `strace -c`'s table. */
export interface SyscallCount {
  readonly syscall: string;
  readonly calls: number;
  readonly errors: number;
  /** Seconds spent in it as strace measured (inflated by tracing itself). */
  readonly seconds: number;
}

/** Parses `strace -c` output; the `total` line is left out. */
export function parseStraceSummary(text: string): SyscallCount[] {
  const rows: SyscallCount[] = [];
  for (const raw of text.split('\n')) {
    // % time, seconds, usecs/call, calls, [errors], syscall
    const match = /^\s*[\d.]+\s+([\d.]+)\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\S+)\s*$/.exec(raw);
    if (match === null || match[4] === 'total') continue;
    rows.push({
      syscall: match[4] ?? '',
      calls: Number(match[2]),
      errors: Number(match[3] ?? 0),
      seconds: Number(match[1]),
    });
  }
  return rows.sort((a, b) => b.calls - a.calls);
}

/** A running `strace -c`; `stop()` detaches it and resolves with its table. */
export interface StraceRun {
  stop(): Promise<SyscallCount[]>;
}

/**
 * Attaches `strace -c -f -o FILE -p PID` (all threads of `pid`).
 *
 * @throws Error when strace cannot be started
 */
export async function startStrace(strace: string, pid: number, file: string): Promise<StraceRun> {
  const child = spawn(strace, ['-c', '-f', '-o', file, '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  // strace says "Process N attached" once it is tracing.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`strace: not attached to ${pid}: ${stderr}`));
    }, 10_000);
    child.stderr.on('data', () => {
      if (!stderr.includes('attached')) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return {
    stop: async () => {
      child.kill('SIGINT');
      await exited;
      return parseStraceSummary(await readFile(file, 'utf8').catch(() => ''));
    },
  };
}
