// This file implements the two waits at the end of a node script run from the perspective of
// the run winding down: for what a stopped script left behind to close (bounded), and for the
// script's output to reach the request (cut short by an abort).
import type { Writable } from 'node:stream';
import { whenWritableDone } from '../../writable-done.ts';
import type { AsyncTracker } from './async-tracker.ts';

/**
 * Resolves once no tracked resource keeps the script alive (killed children reaped, closed
 * sockets destroyed, pending requests completed), or after `limitMs`, whichever comes first.
 * Replaces the tracker's watcher.
 */
export function settled(tracker: AsyncTracker, limitMs: number): Promise<void> {
  if (!tracker.busy()) return Promise.resolve();
  return new Promise((resolve) => {
    let done = false;
    let scheduled = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      tracker.unwatch();
      resolve();
    };
    const look = (): void => {
      scheduled = false;
      if (!tracker.busy()) finish();
    };
    const timer = tracker.outside(() => setTimeout(finish, limitMs));
    tracker.watch(() => {
      if (scheduled || done) return;
      scheduled = true;
      tracker.outside(() => setImmediate(look));
    });
  });
}

/**
 * Resolves once `stream` finished (every byte accepted downstream) or was destroyed; an abort
 * of `signal` destroys it, dropping what was still queued.
 */
export function streamFlushed(stream: Writable, signal: AbortSignal): Promise<void> {
  if (signal.aborted) stream.destroy();
  if (stream.destroyed || stream.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = (): void => {
      stream.destroy();
    };
    whenWritableDone(stream, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
