// This file implements "this Writable is done" from the perspective of per-request code in the
// worker (END_REQUEST after stdout, a node script's output flushed): the first of 'finish'
// (every byte accepted) and 'close' (destroyed), with plain listeners removed afterwards —
// `stream.finished` costs several times as much, and this runs on every request.
import type { Writable } from 'node:stream';

/**
 * Calls `callback` once, when `stream` has finished or was destroyed; in a microtask when it
 * already has.
 * @returns the function that removes the listeners without calling back
 */
export function whenWritableDone(stream: Writable, callback: () => void): () => void {
  if (stream.destroyed || stream.writableFinished) {
    let cancelled = false;
    queueMicrotask(() => {
      if (!cancelled) callback();
    });
    return () => {
      cancelled = true;
    };
  }
  const off = (): void => {
    stream.off('finish', done);
    stream.off('close', done);
  };
  const done = (): void => {
    off();
    callback();
  };
  stream.on('finish', done);
  stream.on('close', done);
  return off;
}
