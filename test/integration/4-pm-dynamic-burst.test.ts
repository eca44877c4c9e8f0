// This file implements `pm = "dynamic"` (issue 4) from the perspective of an operator watching
// `cgi-fpm status` while a burst of HTTP requests arrives through nginx: the pool starts with
// pm.start_servers workers, forks up to pm.max_children (never more) while requests wait, answers
// every request, and afterwards stops surplus idle workers until at most pm.max_spare_servers
// (and at least pm.min_spare_servers) are left.
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, liveWorkers, poolStatus } from './helpers/control.ts';
import { childPids } from './helpers/processes.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { waitUntil } from './helpers/wait.ts';

const MAX_CHILDREN = 4;
const START_SERVERS = 2;
const MIN_SPARE = 1;
const MAX_SPARE = 2;
const BURST = 8;

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ root, fastcgiSocket }) => {
    await writeScript(root, 'sleep1.sh', echoQueryScript(1));
    return {
      main: {
        ...defaultPool(root, fastcgiSocket),
        pm: 'dynamic',
        'pm.max_children': MAX_CHILDREN,
        'pm.start_servers': START_SERVERS,
        'pm.min_spare_servers': MIN_SPARE,
        'pm.max_spare_servers': MAX_SPARE,
      },
    };
  },
});

describe(`pm = "dynamic" (start ${START_SERVERS}, spare ${MIN_SPARE}…${MAX_SPARE}, max ${MAX_CHILDREN}) and a burst of ${BURST} 1-second requests`, () => {
  it('starts start_servers, grows to max_children for the burst, then drops idle workers to max_spare', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const initial = await poolStatus(control, 'main');
    expect({ pm: initial.pm, idle: initial.idle, live: liveWorkers(initial) }).toEqual({
      pm: 'dynamic',
      idle: START_SERVERS,
      live: START_SERVERS,
    });
    expect(childPids(s.daemon.pid)).toHaveLength(START_SERVERS);

    let most = 0;
    const burst = { done: false };
    const watch = (async () => {
      while (!burst.done) {
        most = Math.max(most, liveWorkers(await poolStatus(control, 'main')), childPids(s.daemon.pid).length);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const queries = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    const responses = await Promise.all(
      queries.map((q) => s.request(`/sleep1.sh?${q}`, { timeoutMs: 15_000 })),
    ).finally(() => {
      burst.done = true;
    });
    await watch;
    expect(responses.map((r) => [r.status, r.text])).toEqual(queries.map((q) => [200, echoed(q)]));
    expect(most).toBe(MAX_CHILDREN);
    const after = await poolStatus(control, 'main');
    expect(after.maxChildrenReached).toBeGreaterThan(0);
    expect(after.maxQueueLength).toBeGreaterThan(0);

    // Idle again: surplus workers are stopped (after a moment idle), down to max_spare.
    const settled = await waitUntil(
      `idle workers down to ${MAX_SPARE}`,
      async () => {
        const pool = await poolStatus(control, 'main');
        return pool.busy === 0 && pool.spawning === 0 && pool.idle <= MAX_SPARE ? pool : undefined;
      },
      5000,
      50,
    );
    expect(settled.idle).toBeGreaterThanOrEqual(MIN_SPARE);
    await waitUntil(
      'surplus worker processes gone',
      () => childPids(s.daemon.pid).length === settled.idle,
      3000,
    );
  });
});
