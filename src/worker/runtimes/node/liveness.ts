// This file implements the "would this keep a process alive?" question from the perspective of
// the node runtime deciding when a script is done: each async resource a script created is
// classified the way libuv counts it (a ref'd handle, a pending request, a queued timer), and
// a run that ends early gets its leftovers cleared, closed or killed.
import { constants } from 'node:os';

/** One async resource a script created, as `async_hooks` reported it at `init`. */
export interface TrackedResource {
  /** The `async_hooks` type: `Timeout`, `TCPWRAP`, `FSREQCALLBACK`, … */
  readonly type: string;
  /** The resource object `init` received (a Timeout, a native handle wrap, a request wrap). */
  readonly resource: object;
}

/**
 * How a resource counts right now: `alive` keeps the script running, `idle` does not but may
 * again (an unref'd socket, an idle zlib stream), `dead` never will (forget it).
 */
export type Liveness = 'alive' | 'idle' | 'dead';

/**
 * Requests that are pending from `init` until their `destroy`, which follows their completion
 * callback: while one exists, libuv has a request in flight.
 */
const PENDING_REQUESTS: ReadonlySet<string> = new Set([
  'FSREQCALLBACK',
  'FSREQPROMISE',
  'FILEHANDLECLOSEREQ',
  'GETADDRINFOREQWRAP',
  'GETNAMEINFOREQWRAP',
  'QUERYWRAP',
  'TCPCONNECTWRAP',
  'PIPECONNECTWRAP',
  'SHUTDOWNWRAP',
  'WRITEWRAP',
  'UDPSENDWRAP',
  // An http.ClientRequest waiting for its response (the socket may be a reused keep-alive one).
  'HTTPCLIENTREQUEST',
]);

/** The optional members the classification and the clean-up look for on a resource. */
interface ResourceProbe {
  hasRef?: unknown;
  _destroyed?: unknown;
  buffer?: unknown;
  ondone?: unknown;
  destroy?: unknown;
  close?: unknown;
  kill?: unknown;
}

/**
 * Classifies a resource:
 * - a Timeout or Immediate that ran (and will not again) or was cleared is dead: Node sets its
 *   `_destroyed` flag then, before its `after` hook (and the tracker has no `destroy` hook
 *   while a script created nothing but timers);
 * - anything with `hasRef()` (Timeout, Immediate, every libuv handle: sockets, servers, pipes,
 *   child processes, signal watchers) is alive while ref'd — `unref()` lets a process exit;
 * - request wraps ({@link PENDING_REQUESTS}) are alive until destroyed;
 * - a zlib handle is alive while a chunk is being processed on the thread pool (its `buffer`
 *   is set for the duration of an async write);
 * - a crypto job (`…REQUEST`) is alive when it runs asynchronously (it then has an `ondone`
 *   callback); the synchronous ones (`randomBytes(n)`, `pbkdf2Sync`) are only destroyed by GC;
 * - anything else (FILEHANDLE, DNSCHANNEL, TLSWRAP, HTTPINCOMINGMESSAGE, …) rides on one of
 *   the above and never holds a process open by itself.
 */
export function liveness(tracked: TrackedResource): Liveness {
  const probe = tracked.resource as ResourceProbe;
  if (probe._destroyed === true && isTimer(tracked)) return 'dead';
  if (typeof probe.hasRef === 'function')
    return (probe.hasRef as () => boolean).call(probe) ? 'alive' : 'idle';
  if (PENDING_REQUESTS.has(tracked.type)) return 'alive';
  if (tracked.type === 'ZLIB') return probe.buffer !== null && probe.buffer !== undefined ? 'alive' : 'idle';
  if (tracked.type.endsWith('REQUEST')) return typeof probe.ondone === 'function' ? 'alive' : 'dead';
  return 'dead';
}

/** True for the resources clearTimeout/clearImmediate cancel. */
export function isTimer(tracked: TrackedResource): boolean {
  return tracked.type === 'Timeout' || tracked.type === 'Immediate';
}

/** Cancels a `Timeout` (setTimeout/setInterval) or an `Immediate`. */
export function clearTimer(tracked: TrackedResource): void {
  if (tracked.type === 'Timeout') clearTimeout(tracked.resource as NodeJS.Timeout);
  else clearImmediate(tracked.resource as NodeJS.Immediate);
}

/**
 * Ends what a script left behind when it exited, failed or was aborted, best effort and with
 * the resource's own public methods: a child process gets SIGKILL (its handle stays open so
 * libuv still reaps it), anything else with `destroy()` or `close()` is destroyed or closed.
 * Pending requests have neither and simply complete. Never throws.
 */
export function destroyResource(tracked: TrackedResource): void {
  const probe = tracked.resource as ResourceProbe;
  try {
    if (tracked.type === 'PROCESSWRAP' && typeof probe.kill === 'function') {
      (probe.kill as (signal: number) => number).call(probe, constants.signals.SIGKILL);
    } else if (typeof probe.destroy === 'function') {
      (probe.destroy as () => unknown).call(probe);
    } else if (typeof probe.close === 'function') {
      const closing = (probe.close as () => unknown).call(probe);
      // FileHandle.close() returns a promise: its rejection must not become unhandled.
      if (closing instanceof Promise) closing.catch(() => undefined);
    }
  } catch {
    // Already closed or closing: nothing more to do.
  }
}
