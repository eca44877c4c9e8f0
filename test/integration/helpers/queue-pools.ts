// This file implements the pools of the overload suites from the perspective of a test that
// fills a pool's queue: two 1-worker pools with a queue of one place on one listener, each
// running the gate's script (`/full/hold.sh`, `/timed/hold.sh`), so what happens while the
// worker is busy is known, not guessed from the clock. "full" lets a request wait a minute in
// its queue (it is still there, whatever the machine, when the next one comes); "timed" lets
// it wait `timedQueueMs`.
import { join } from 'node:path';
import type { TomlDocument } from './config-file.ts';
import { poolStatus } from './control.ts';
import type { Daemon, LogEntry } from './daemon.ts';
import type { GateSlot } from './gate.ts';
import { defaultPool, type StackPaths } from './stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './wait.ts';

/** The pool whose queue waits a minute, and the one whose queue times out. */
export const QUEUE_POOLS = ['full', 'timed'] as const;

/**
 * Opens `gate` in the stack's dir and returns pools "full" and "timed" (roots `<root>/full`,
 * `<root>/timed`, each holding the gate's `hold.sh`), with `extra` keys on both.
 */
export async function queuePools(
  { dir, root, fastcgiSocket }: StackPaths,
  gate: GateSlot,
  timedQueueMs: number,
  extra: TomlDocument = {},
): Promise<TomlDocument> {
  await gate.open(dir, ...QUEUE_POOLS.map((name) => join(root, name, 'hold.sh')));
  const pool = (name: string, timeout: string): TomlDocument => ({
    ...defaultPool(join(root, name), fastcgiSocket),
    pm: { max_children: 1 },
    'queue.max': 1,
    'queue.timeout': timeout,
    ...extra,
  });
  return { full: pool('full', '60s'), timed: pool('timed', `${timedQueueMs}ms`) };
}

/** Waits until `pool` has `length` requests in its queue (read on the control socket). */
export async function waitForQueue(control: string, pool: string, length: number): Promise<void> {
  await waitUntil(
    `${length} request(s) queued in pool ${pool}`,
    async () => (await poolStatus(control, pool)).queueLength === length,
    EVENT_TIMEOUT_MS,
    20,
  );
}

/** Waits for the "pool overloaded" line of `pool` with `reason`, logged at index `since` or later. */
export function waitForOverload(
  daemon: Daemon,
  pool: string,
  reason: string,
  since: number,
): Promise<LogEntry> {
  return daemon.waitForLog(
    (e) => e.msg === 'pool overloaded' && e.pool === pool && e.reason === reason,
    EVENT_TIMEOUT_MS,
    since,
  );
}
