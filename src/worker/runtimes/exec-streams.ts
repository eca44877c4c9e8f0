// This file implements the three pipes of a CGI child from the perspective of the `exec`
// runtime: the body fed to stdin while stdout is read (never one before the other: that
// deadlocks, peers.md §3.7), stdout copied with backpressure, stderr read as lines.
import type { Readable, Writable } from 'node:stream';
import { LineSplitter } from './line-splitter.ts';

/** A running copy that can be cut short. */
export interface Pump {
  /** Stops the copy now; idempotent. */
  stop(): void;
}

/** The stdout copy; `done` resolves once the child's stdout ended and every write completed. */
export interface StdoutPump extends Pump {
  readonly done: Promise<void>;
}

/** The stderr reader. */
export interface StderrPump extends Pump {
  /** Waits up to `graceMs` for stderr to end, then stops reading; the last line is emitted. */
  settle(graceMs: number): Promise<void>;
}

/**
 * Pipes the request body into the child's stdin. When the child stops reading (EPIPE, or it
 * exited) the body is unpiped and drained into nothing, so the FastCGI side never stalls on a
 * script that ignores its input. A failing body closes stdin (the script sees end of file).
 */
export function feedStdin(body: Readable, sink: Writable): Pump {
  const discard = (): void => {
    body.unpipe(sink);
    body.resume();
  };
  sink.on('error', discard);
  body.on('error', () => {
    body.unpipe(sink);
    sink.destroy();
  });
  body.pipe(sink);
  return {
    stop: () => {
      discard();
      sink.destroy();
    },
  };
}

/**
 * Copies the child's stdout into `dest`, waiting for 'drain' when `dest` asks for it. Once
 * `dest` fails or `signal` is aborted, the rest is read and discarded: the child must never
 * block on a full pipe, and an aborted run must not wait on a stalled client.
 */
export function pumpStdout(src: Readable, dest: Writable, signal: AbortSignal): StdoutPump {
  const state: CopyState = { failed: false, pending: 0, allWritten: undefined };
  const onError = (): void => {
    state.failed = true;
  };
  dest.on('error', onError);
  const done = copy(src, dest, signal, state).finally(() => dest.off('error', onError));
  return { done, stop: () => src.destroy() };
}

interface CopyState {
  failed: boolean;
  pending: number;
  allWritten: (() => void) | undefined;
}

async function copy(src: Readable, dest: Writable, signal: AbortSignal, state: CopyState): Promise<void> {
  const written = (err?: Error | null): void => {
    state.pending--;
    if (err) state.failed = true;
    if (state.pending === 0) state.allWritten?.();
  };
  try {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      if (state.failed || signal.aborted || dest.destroyed || dest.writableEnded) {
        state.failed = true;
        continue;
      }
      state.pending++;
      if (!dest.write(chunk, written)) await waitFor(dest, signal, ['drain', 'close', 'error']);
    }
  } catch {
    // A read error or stop() ends the output where it is.
  }
  if (state.pending === 0 || signal.aborted) return;
  const allWritten = new Promise<void>((resolve) => {
    state.allWritten = resolve;
  });
  await Promise.race([allWritten, waitFor(dest, signal, [])]);
}

/** Resolves on the first of `events` on `dest` or on abort (at once if already aborted). */
function waitFor(dest: Writable, signal: AbortSignal, events: readonly string[]): Promise<void> {
  if (signal.aborted || (events.length > 0 && dest.destroyed)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      for (const event of events) dest.off(event, done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    for (const event of events) dest.on(event, done);
    signal.addEventListener('abort', done);
  });
}

/** Reads the child's stderr and hands each line to `onLine`. */
export function readStderr(src: Readable, onLine: (line: string) => void): StderrPump {
  const lines = new LineSplitter(onLine);
  let ended: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    ended = resolve;
  });
  const finish = (): void => {
    lines.end();
    ended();
  };
  src.on('data', (chunk: Buffer) => {
    lines.push(chunk);
  });
  src.once('end', finish);
  src.once('close', finish);
  src.on('error', () => undefined);
  const stop = (): void => {
    src.destroy();
    finish();
  };
  const settle = async (graceMs: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([closed, grace]);
    clearTimeout(timer);
    stop();
  };
  return { stop, settle };
}
