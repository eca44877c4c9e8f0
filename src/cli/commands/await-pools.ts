// This file implements the start-up wait for every pool's initial workers from the perspective
// of `cgi-fpm start` under a service manager: READY=1 only once every pool runs them; until then
// STATUS=degraded names the short pools (and the cause), and past the bound the start fails.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../log/logger.ts';
import type { DaemonStatus } from '../../supervisor/status.ts';
import type { Readiness } from '../../systemd/readiness.ts';
import { degradedText, poolShortfalls, type PoolShortfall } from '../../systemd/start-gate.ts';

/** How often the pools are looked at while some are short, in milliseconds. */
export const POOL_POLL_MS = 250;

/** What {@link awaitPools} watches and reports to. */
export interface AwaitPoolsOptions {
  readonly status: () => DaemonStatus;
  /** Initial workers by pool name. */
  readonly wanted: ReadonlyMap<string, number>;
  readonly readiness: Readiness;
  readonly log: Logger;
  /**
   * Longest wait, in milliseconds; `undefined`: look once and return (nobody waits for
   * readiness), `0`: no bound.
   */
  readonly timeoutMs: number | undefined;
  /** Settles when the daemon stops meanwhile (a signal, `cgi-fpm stop`). */
  readonly stopped: Promise<void>;
  readonly now: () => number;
}

/** How the wait ended. */
export type AwaitPoolsOutcome =
  | { readonly kind: 'ready' }
  | { readonly kind: 'degraded'; readonly short: readonly PoolShortfall[] }
  | { readonly kind: 'timeout'; readonly short: readonly PoolShortfall[] }
  | { readonly kind: 'stopped' };

/**
 * Waits until every pool runs its initial workers, the bound passes, or the daemon stops.
 *
 * @returns `ready` (tell the service manager), `degraded` (no wait was asked for: serve what
 *   works), `timeout` (give up: the caller stops the daemon and fails), or `stopped`.
 */
export async function awaitPools(options: AwaitPoolsOptions): Promise<AwaitPoolsOutcome> {
  const { log, readiness, timeoutMs } = options;
  const started = options.now();
  const stopped = options.stopped.then(() => 'stopped' as const);
  let logged = false;
  for (;;) {
    const status = options.status();
    const short = poolShortfalls(status, options.wanted);
    if (short.length === 0) {
      if (logged) log.info({}, 'every pool has its initial workers');
      return { kind: 'ready' };
    }
    const bound = timeoutMs === undefined || timeoutMs <= 0 ? undefined : timeoutMs;
    if (timeoutMs === undefined) {
      log.warn({ pools: short }, 'pools degraded, serving the pools that work');
      return { kind: 'degraded', short };
    }
    if (!logged) {
      log.warn({ pools: short, readyTimeoutMs: timeoutMs }, 'pools degraded, waiting for their workers');
      logged = true;
    }
    readiness.degraded(degradedText(short, status.pools.length, bound));
    if (bound !== undefined && options.now() - started >= bound) return { kind: 'timeout', short };
    const next = await Promise.race([stopped, delay(POOL_POLL_MS, 'look again' as const, { ref: false })]);
    if (next === 'stopped') return { kind: 'stopped' };
  }
}
