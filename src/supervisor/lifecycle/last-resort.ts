// This file implements the supervisor's last resort from the perspective of an operator whose
// daemon met an error nothing caught: it is logged, never lost; the daemon keeps serving when
// its state is known to be sound, and otherwise exits (70) for the service manager to restart
// it (systemd `Restart=on-failure`), its workers leaving with it (they watch the IPC channel).
// Every path from a socket catches its own errors; this is for the bug nobody foresaw.
import { DaemonError } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';

/** More than this many last-resort errors within {@link STORM_WINDOW_MS}: the state is not sound. */
export const STORM_LIMIT = 20;
/** The window of {@link STORM_LIMIT}, in ms. */
export const STORM_WINDOW_MS = 60_000;

/** What the last resort decided about one error. */
export type LastResortVerdict = 'serve' | 'exit';

/**
 * Whether the daemon may go on after an uncaught error:
 * - a rejected promise nobody awaited (`unhandledRejection`): its owner has moved on and the
 *   state machines change state synchronously, between awaits, so nothing was left half-done:
 *   serve on;
 * - an exception thrown out of a callback (`uncaughtException`): the callback stopped midway,
 *   so a state machine may be half-updated: exit, unless it is one of cgi-fpm's own coded errors
 *   (`DaemonError`), which are thrown by checks before any state changes;
 * - either, more than {@link STORM_LIMIT} times in {@link STORM_WINDOW_MS}: exit (something is
 *   wrong in a loop).
 * @param recentCount - last-resort errors within the window, this one included
 */
export function lastResortVerdict(kind: 'uncaughtException' | 'unhandledRejection', err: unknown,
  recentCount: number): LastResortVerdict {
  if (recentCount > STORM_LIMIT) return 'exit';
  if (kind === 'unhandledRejection') return 'serve';
  return err instanceof DaemonError ? 'serve' : 'exit';
}

/** What the last resort needs. */
export interface LastResortDeps {
  readonly log: Logger;
  readonly now: () => number;
  /** Ends the process now with `code` (the CLI's `process.exit`). */
  readonly exit: (code: number) => void;
}

/** Exit status after an error the daemon cannot survive: sysexits `EX_SOFTWARE`. */
const EX_SOFTWARE = 70;

/**
 * Installs the `uncaughtException` and `unhandledRejection` handlers; returns a function that
 * removes them.
 * @see Node.js `process` events 'uncaughtException', 'unhandledRejection'
 */
export function installLastResort(deps: LastResortDeps): () => void {
  const times: number[] = [];
  const handle = (kind: 'uncaughtException' | 'unhandledRejection', err: unknown): void => {
    const now = deps.now();
    times.push(now);
    while (times.length > 0 && (times[0] ?? now) <= now - STORM_WINDOW_MS) times.shift();
    const verdict = lastResortVerdict(kind, err, times.length);
    const fields = { err, kind, recent: times.length };
    if (verdict === 'serve') {
      deps.log.error(fields, 'uncaught error, still serving');
      return;
    }
    deps.log.fatal(fields, 'uncaught error, exiting for the service manager to restart the daemon');
    deps.exit(EX_SOFTWARE);
  };
  const onException = (err: Error): void => { handle('uncaughtException', err); };
  const onRejection = (reason: unknown): void => { handle('unhandledRejection', reason); };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
