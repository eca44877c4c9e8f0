// This file implements bounded polling from the perspective of a test that waits for the world
// to reach a state (a process gone, a socket up) and must never hang.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The bound on waiting for an event a test expects (a log line, a status counter, a process
 * gone, a script started), in milliseconds. Generous on purpose: it only turns a hang into a
 * failure, and never decides how fast something must happen (speed belongs in `npm run bench`;
 * the machine running the tests may be loaded).
 */
export const EVENT_TIMEOUT_MS = 30_000;

/**
 * Calls `check` every `intervalMs` until it returns a value other than `undefined`/`false`,
 * and resolves with that value.
 *
 * @param what - a description for the timeout error ("nginx socket accepting")
 * @param check - the probe; thrown errors propagate immediately
 * @param timeoutMs - the bound, in milliseconds
 * @param intervalMs - pause between probes, in milliseconds
 * @defaultValue intervalMs 50
 * @throws Error when `timeoutMs` passes first; the message names `what` and the bound
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | false | undefined | Promise<T | false | undefined>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`wait: ${what}: not reached within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
