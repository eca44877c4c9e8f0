// This file implements `pm = "dynamic"` (issue 4) from the perspective of an operator watching
// `cgi-fpm status` while a burst of HTTP requests arrives through nginx: the pool starts with
// pm.start_servers workers, forks up to pm.max_children (never more) while requests wait, answers
// every request, and afterwards stops surplus idle workers until at most pm.max_spare_servers
// (and at least pm.min_spare_servers) are left. The burst's requests are held by the test until
// the pool has grown, so the growth is waited for, not raced against the requests' length.
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, liveWorkers, poolStatus } from './helpers/control.ts';
import { GateSlot, released } from './helpers/gate.ts';
import type { HttpResponse } from './helpers/http.ts';
import { childPids } from './helpers/processes.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const MAX_CHILDREN = 4;
const START_SERVERS = 2;
const MIN_SPARE = 1;
const MAX_SPARE = 2;
const BURST = 8;

const gate = new GateSlot();

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ dir, root, fastcgiSocket }) => {
    await gate.open(dir, join(root, 'hold.sh'));
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

describe(`pm = "dynamic" (start ${START_SERVERS}, spare ${MIN_SPARE}…${MAX_SPARE}, max ${MAX_CHILDREN}) and a burst of ${BURST} held requests`, () => {
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
    const look = async (): Promise<void> => {
      most = Math.max(most, liveWorkers(await poolStatus(control, 'main')), childPids(s.daemon.pid).length);
    };
    const burst = { done: false };
    // Samples the population all along the burst (never more than pm.max_children).
    const watch = (async () => {
      while (!burst.done) {
        await look();
        await delay(20);
      }
    })();
    const queries = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    let responses: HttpResponse[];
    try {
      const answers = Promise.all(queries.map((q) => s.request(`/hold.sh?${q}`)));
      // Grown to pm.max_children while the burst waits: every worker busy with a held request,
      // the rest of the burst queued.
      await waitUntil(
        `${MAX_CHILDREN} busy workers, ${BURST - MAX_CHILDREN} queued`,
        async () => {
          const pool = await poolStatus(control, 'main');
          return pool.busy === MAX_CHILDREN && pool.queueLength === BURST - MAX_CHILDREN;
        },
        EVENT_TIMEOUT_MS,
        20,
      );
      await look();
      await gate.get().release(...queries);
      responses = await answers;
    } finally {
      burst.done = true;
      await gate.get().release(...queries);
    }
    await watch;
    expect(responses.map((r) => [r.status, r.text])).toEqual(queries.map((q) => [200, released(q)]));
    // Never more than pm.max_children, seen all along the burst.
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
      EVENT_TIMEOUT_MS,
      50,
    );
    expect(settled.idle).toBeGreaterThanOrEqual(MIN_SPARE);
    await waitUntil(
      'surplus worker processes gone',
      () => childPids(s.daemon.pid).length === settled.idle,
      EVENT_TIMEOUT_MS,
    );
  });
});
