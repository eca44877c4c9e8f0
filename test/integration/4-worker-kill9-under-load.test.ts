// This file implements crash replacement (issue 4) from the perspective of HTTP clients behind
// nginx under continuous load while busy workers are killed with SIGKILL, one a second: only
// the requests those workers held may fail (failures ≤ kills), and within 1 s of a kill the
// pool has pm.max_children ready workers again (the dead one reaped, nothing spawning): the
// median recovery within 1 s, each within 1.5 s (see EACH_WITHIN_MS).
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { expect200, runLoad } from './helpers/load.ts';
import { childPids, readProcStat } from './helpers/processes.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { waitUntil } from './helpers/wait.ts';

const MAX_CHILDREN = 3;
const KILLS = 5;
/** The bound: the typical (median) recovery must meet it. */
const BACK_WITHIN_MS = 1000;
/**
 * The bound for every recovery. A recovery is a fresh `node` worker starting (about 0.25 s on
 * an idle 2-core machine, 0.3–0.8 s under this load, past 1 s now and then when CI runs the
 * unit tests beside it), so one slow start is tolerated, a slow pool is not.
 */
const EACH_WITHIN_MS = 1500;

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async (paths) => {
    // Short, but long enough that a worker is caught with its CGI child running.
    await writeScript(paths.root, 'work.sh', echoQueryScript(0.2));
    return { main: { ...defaultPool(paths.root, paths.fastcgiSocket), pm: { max_children: MAX_CHILDREN } } };
  },
});

/** A worker of the daemon that is running a request right now (it has a live CGI child). */
function busyWorker(daemonPid: number): number | undefined {
  return childPids(daemonPid).find((worker) => childPids(worker).length > 0);
}

describe(`kill -9 of a busy worker every second under load (${KILLS} kills)`, () => {
  it('fails at most one request per kill and is back to full strength within 1 s each time', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    let killing = true;
    const load = runLoad({
      clients: 4,
      durationMs: 30_000,
      more: () => killing,
      send: (c, i) => s.request(`/work.sh?k${c}-${i}`, { timeoutMs: 10_000 }),
      check: (response, c, i) => expect200(response, echoed(`k${c}-${i}`)),
    });
    const recoveries: number[] = [];
    try {
      for (let k = 0; k < KILLS; k++) {
        await delay(k === 0 ? 500 : Math.max(0, 1000 - (recoveries.at(-1) ?? 0)));
        const victim = await waitUntil('a busy worker', () => busyWorker(s.daemon.pid), 2000, 5);
        process.kill(victim, 'SIGKILL');
        const killedAt = Date.now();
        // Full strength: the victim reaped, pm.max_children ready workers, none spawning.
        await waitUntil(
          `pool back to ${MAX_CHILDREN} ready workers after kill ${k + 1}`,
          async () => {
            if (readProcStat(victim) !== undefined) return false;
            const pool = await poolStatus(control, 'main');
            return pool.idle + pool.busy === MAX_CHILDREN && pool.spawning === 0;
          },
          5000,
          10,
        );
        recoveries.push(Date.now() - killedAt);
      }
    } finally {
      killing = false;
    }
    const result = await load;
    const why = `recovered after ${recoveries.join(', ')} ms`;
    const median = [...recoveries].sort((a, b) => a - b)[Math.floor(KILLS / 2)] ?? Infinity;
    expect(median, why).toBeLessThanOrEqual(BACK_WITHIN_MS);
    expect(Math.max(...recoveries), why).toBeLessThanOrEqual(EACH_WITHIN_MS);
    expect(result.failures.length, result.failures.join('\n')).toBeLessThanOrEqual(KILLS);
    expect(result.ok).toBeGreaterThan(20);
    const pool = await poolStatus(control, 'main');
    expect(pool.restarts).toBeGreaterThanOrEqual(KILLS);
    expect(pool.backoff.state).toBe('none');
  });
});
