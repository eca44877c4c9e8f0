// This file implements the graceful stop (issue 4) from the perspective of HTTP clients behind
// nginx whose requests are running or queued when the operator sends SIGTERM: every one of them
// is answered 200 with its own body, the daemon exits 0 well before process_control_timeout,
// and no worker is left. Also when a worker has just died and its replacement is still
// starting at the moment of the SIGTERM.
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { childPids, waitForProcessesGone } from './helpers/processes.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool, startStack, type Stack } from './helpers/stack.ts';
import { waitUntil } from './helpers/wait.ts';

/** process_control_timeout: a stop that waits for it shows as a slow exit, not a pass. */
const CONTROL_TIMEOUT_S = 8;
/** Bound on the exit after the last request ended. */
const EXIT_BOUND_MS = 3000;

async function startSleepStack(maxChildren: number): Promise<Stack> {
  return startStack({
    global: { ...CONTROL_GLOBAL, process_control_timeout: `${CONTROL_TIMEOUT_S}s` },
    pools: async (paths) => {
      await writeScript(paths.root, 'sleep1.sh', echoQueryScript(1));
      await writeScript(paths.root, 'echo.sh', echoQueryScript());
      return { main: { ...defaultPool(paths.root, paths.fastcgiSocket), pm: { max_children: maxChildren } } };
    },
  });
}

describe('SIGTERM under load', () => {
  it('answers 4 running and 2 queued 1-second requests with 200, exits 0, leaves no worker', async () => {
    const stack = await startSleepStack(4);
    try {
      const control = controlSocketIn(stack.dir);
      const workers = childPids(stack.daemon.pid);
      expect(workers).toHaveLength(4);
      const queries = Array.from({ length: 6 }, (_, i) => `term-${i}`);
      const requests = queries.map((q) => stack.request(`/sleep1.sh?${q}`, { timeoutMs: 15_000 }));
      // 4 running (one per worker) and 2 waiting in the pool's queue.
      await waitUntil(
        '4 busy workers and 2 queued requests',
        async () => {
          const pool = await poolStatus(control, 'main');
          return pool.busy === 4 && pool.queueLength === 2;
        },
        5000,
        20,
      );
      const since = stack.daemon.logs.length;
      const stopped = stack.daemon.stop();
      const responses = await Promise.all(requests);
      const lastAnswer = Date.now();
      expect(responses.map((r) => [r.status, r.text])).toEqual(queries.map((q) => [200, echoed(q)]));
      expect(await stopped).toBe(0);
      expect(Date.now() - lastAnswer).toBeLessThan(EXIT_BOUND_MS);
      await waitForProcessesGone(workers, undefined, 2000);
      const logs = stack.daemon.logs.slice(since).map((e) => e.msg);
      expect(logs).toContain('stopping');
      expect(logs).not.toContain('process_control_timeout passed, killing workers');
    } finally {
      await stack.stop();
    }
  });

  it('right after a worker died (its replacement still starting): exits 0 promptly, leaves no worker', async () => {
    const stack = await startSleepStack(2);
    try {
      const control = controlSocketIn(stack.dir);
      const [victim, survivor] = childPids(stack.daemon.pid);
      if (victim === undefined || survivor === undefined) throw new Error('expected 2 workers');
      expect((await stack.request('/echo.sh?before')).text).toBe(echoed('before'));
      process.kill(victim, 'SIGKILL');
      // The supervisor noticed and forks a replacement: SIGTERM while it starts.
      await waitUntil(
        'a replacement worker spawning',
        async () => (await poolStatus(control, 'main')).spawning === 1,
        5000,
        5,
      );
      const replacement = childPids(stack.daemon.pid).filter((p) => p !== survivor);
      const since = stack.daemon.logs.length;
      const started = Date.now();
      const code = await stack.daemon.stop();
      const elapsed = Date.now() - started;
      // A stop that reaches a worker before it listens for it must not be lost (the supervisor
      // would wait for process_control_timeout, then SIGKILL).
      expect(stack.daemon.logs.slice(since).map((e) => e.msg)).not.toContain(
        'process_control_timeout passed, killing workers',
      );
      expect(code).toBe(0);
      expect(elapsed, `exit took ${elapsed} ms`).toBeLessThan(EXIT_BOUND_MS);
      await waitForProcessesGone([survivor, ...replacement], undefined, 2000);
    } finally {
      await stack.stop();
    }
  });
});
