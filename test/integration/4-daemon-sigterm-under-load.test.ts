// This file implements the graceful stop (issue 4) from the perspective of HTTP clients behind
// nginx whose requests are running or queued when the operator sends SIGTERM: every one of them
// is answered 200 with its own body, the daemon exits 0 without waiting for
// process_control_timeout (it would log that it kills the workers), and no worker is left.
// Also when a worker has just died and its replacement is still starting at the moment of the
// SIGTERM. The running requests are held by the test until the stop has begun.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { Gate, released } from './helpers/gate.ts';
import { waitForEvent } from './helpers/logs.ts';
import { childPids, waitForProcessesGone } from './helpers/processes.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool, startStack, type Stack } from './helpers/stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

/**
 * process_control_timeout: long, so that a stop that waits for it cannot end within the
 * helper's grace (it logs {@link KILLING} when it passes).
 */
const CONTROL_TIMEOUT_S = 120;
const KILLING = 'process_control_timeout passed, killing workers';

async function startHoldStack(maxChildren: number): Promise<{ stack: Stack; gate: Gate }> {
  let gate: Gate | undefined;
  const stack = await startStack({
    global: { ...CONTROL_GLOBAL, process_control_timeout: `${CONTROL_TIMEOUT_S}s` },
    pools: async (paths) => {
      gate = await Gate.open(join(paths.dir, 'gate'));
      await writeScript(paths.root, 'hold.sh', gate.shScript());
      await writeScript(paths.root, 'echo.sh', echoQueryScript());
      return { main: { ...defaultPool(paths.root, paths.fastcgiSocket), pm: { max_children: maxChildren } } };
    },
  });
  if (gate === undefined) throw new Error('gate: not opened');
  return { stack, gate };
}

describe('SIGTERM under load', () => {
  it('answers 4 running and 2 queued requests with 200, exits 0, leaves no worker', async () => {
    const { stack, gate } = await startHoldStack(4);
    const queries = Array.from({ length: 6 }, (_, i) => `term-${i}`);
    try {
      const control = controlSocketIn(stack.dir);
      const workers = childPids(stack.daemon.pid);
      expect(workers).toHaveLength(4);
      const requests = queries.map((q) => stack.request(`/hold.sh?${q}`));
      // 4 running (one per worker, held) and 2 waiting in the pool's queue.
      await waitUntil(
        '4 busy workers and 2 queued requests',
        async () => {
          const pool = await poolStatus(control, 'main');
          return pool.busy === 4 && pool.queueLength === 2;
        },
        EVENT_TIMEOUT_MS,
        20,
      );
      const since = stack.daemon.logs.length;
      const stopped = stack.daemon.stop();
      await waitForEvent(stack.daemon, 'stopping', since);
      await gate.release(...queries);
      const responses = await Promise.all(requests);
      expect(responses.map((r) => [r.status, r.text])).toEqual(queries.map((q) => [200, released(q)]));
      expect(await stopped).toBe(0);
      await waitForProcessesGone(workers, undefined, EVENT_TIMEOUT_MS);
      const logs = stack.daemon.logs.slice(since).map((e) => e.msg);
      expect(logs).toContain('stopping');
      expect(logs).toContain('exiting, bye-bye');
      expect(logs).not.toContain(KILLING);
    } finally {
      await gate.release(...queries);
      await stack.stop();
    }
  });

  it('right after a worker died (its replacement still starting): exits 0 by itself, leaves no worker', async () => {
    const { stack } = await startHoldStack(2);
    try {
      const control = controlSocketIn(stack.dir);
      expect((await stack.request('/echo.sh?before')).text).toBe(echoed('before'));
      // Kill a worker; the supervisor notices and forks a replacement: SIGTERM while it starts.
      // Should the replacement be ready before a look at the status caught it starting, the
      // pool is whole again: kill another.
      let survivor: number | undefined;
      for (let attempt = 1; survivor === undefined; attempt++) {
        const [victim, other] = childPids(stack.daemon.pid);
        if (victim === undefined || other === undefined) throw new Error('expected 2 workers');
        const { restarts } = await poolStatus(control, 'main');
        process.kill(victim, 'SIGKILL');
        const seen = await waitUntil(
          `kill ${attempt}: a replacement worker spawning, or ready already`,
          async () => {
            const pool = await poolStatus(control, 'main');
            if (pool.spawning === 1) return 'spawning';
            return pool.restarts > restarts && pool.idle === 2 ? 'ready' : undefined;
          },
          EVENT_TIMEOUT_MS,
          5,
        );
        if (seen === 'spawning') survivor = other;
        else if (attempt === 10) throw new Error('never caught a replacement worker starting in 10 kills');
      }
      const replacement = childPids(stack.daemon.pid).filter((p) => p !== survivor);
      const since = stack.daemon.logs.length;
      const code = await stack.daemon.stop();
      // A stop that reaches a worker before it listens for it must not be lost (the supervisor
      // would wait for process_control_timeout, far past the helper's grace, then SIGKILL).
      const logs = stack.daemon.logs.slice(since).map((e) => e.msg);
      expect(logs).not.toContain(KILLING);
      expect(logs).toContain('exiting, bye-bye');
      expect(code).toBe(0);
      await waitForProcessesGone([survivor, ...replacement], undefined, EVENT_TIMEOUT_MS);
    } finally {
      await stack.stop();
    }
  });
});
