// This file implements crash replacement (issue 4) from the perspective of HTTP clients behind
// nginx under continuous load while busy workers are killed with SIGKILL, one after another:
// only the requests those workers held may fail (failures ≤ kills), and after each kill the
// pool is back to pm.max_children ready workers (the dead one reaped, nothing spawning) and
// serves again before the next kill. How fast it recovers is the bench's business: here each
// step waits for the event, bounded only by a generous timeout.
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { expect200, LoadProgress, runLoad } from './helpers/load.ts';
import { childPids, readProcStat } from './helpers/processes.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const MAX_CHILDREN = 3;
const KILLS = 5;
/** Requests answered right that show the load running: before the first kill, after each recovery. */
const SERVED_BETWEEN_KILLS = 4;

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

describe(`kill -9 of a busy worker under load (${KILLS} kills)`, () => {
  it('fails at most one request per kill and is back to full strength, serving, after each', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    let killing = true;
    const progress = new LoadProgress();
    const load = runLoad({
      clients: 4,
      durationMs: 60_000,
      more: () => killing,
      send: (c, i) => s.request(`/work.sh?k${c}-${i}`),
      check: progress.counting((response, c, i) => expect200(response, echoed(`k${c}-${i}`))),
    });
    try {
      await progress.more(SERVED_BETWEEN_KILLS, 'the load running');
      for (let k = 0; k < KILLS; k++) {
        const victim = await waitUntil('a busy worker', () => busyWorker(s.daemon.pid), EVENT_TIMEOUT_MS, 5);
        process.kill(victim, 'SIGKILL');
        // Full strength: the victim reaped, pm.max_children ready workers, none spawning.
        await waitUntil(
          `pool back to ${MAX_CHILDREN} ready workers after kill ${k + 1}`,
          async () => {
            if (readProcStat(victim) !== undefined) return false;
            const pool = await poolStatus(control, 'main');
            return pool.idle + pool.busy === MAX_CHILDREN && pool.spawning === 0;
          },
          EVENT_TIMEOUT_MS,
          10,
        );
        await progress.more(SERVED_BETWEEN_KILLS, `after kill ${k + 1}`);
      }
    } finally {
      killing = false;
    }
    const result = await load;
    expect(result.failures.length, result.failures.join('\n')).toBeLessThanOrEqual(KILLS);
    expect(result.ok).toBeGreaterThanOrEqual(SERVED_BETWEEN_KILLS * (KILLS + 1));
    const pool = await poolStatus(control, 'main');
    expect(pool.restarts).toBeGreaterThanOrEqual(KILLS);
    expect(pool.backoff.state).toBe('none');
  });
});
