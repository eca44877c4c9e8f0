// This file implements the two waits at the end of a node script run from the perspective of
// the run winding down: for what a stopped script left behind to close (bounded), and for the
// script's output to reach the request (cut short by an abort).
import type { Writable } from 'node:stream';
import { whenWritableDone } from '../../writable-done.ts';
import { LoopWatch } from './loop-watch.ts';
import type { ScriptActivity } from './script-activity.ts';
import { ownTimers } from './script-timers.ts';
import { onRunAbort, runAborted, type RuntimeRequest } from '../types.ts';

/** Promise as it was when the runtime loaded: a script replacing the global cannot stall the wind-down. */
const OwnPromise = Promise;

/**
 * Resolves once nothing the script started keeps it alive (killed children reaped, pending
 * requests completed), or after `limitMs`, whichever comes first. Replaces the activity's watcher.
 */
export function settled(activity: ScriptActivity, limitMs: number): Promise<void> {
  if (!activity.busy()) return OwnPromise.resolve();
  return new OwnPromise((resolve) => {
    const finish = (): boolean => {
      watch.stop();
      ownTimers.clearTimeout(timer);
      activity.unwatch();
      resolve();
      return true;
    };
    const watch = new LoopWatch(() => !activity.busy() && finish());
    const timer = ownTimers.setTimeout(finish, limitMs).unref();
    activity.watch(() => {
      watch.poke();
    });
    watch.poke();
  });
}

/**
 * Resolves once `stream` finished (every byte accepted downstream) or was destroyed; an abort
 * of `signal` destroys it, dropping what was still queued.
 */
export function streamFlushed(stream: Writable, req: RuntimeRequest): Promise<void> {
  if (runAborted(req)) stream.destroy();
  if (stream.destroyed || stream.writableFinished) return OwnPromise.resolve();
  return new OwnPromise((resolve) => {
    const stopListening = onRunAbort(req, () => {
      stream.destroy();
    });
    whenWritableDone(stream, () => {
      stopListening();
      resolve();
    });
  });
}
