// This file implements worker replacement from the perspective of an HTTP client behind nginx
// whose request is being served when its worker is killed (SIGKILL): the client gets a 502
// ("worker exited"), the orphaned CGI script's process group is gone, the pool spawns a new
// worker, and the pool serves at full width again (two held requests running at once).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GateSlot, released } from './helpers/gate.ts';
import { waitForEvent } from './helpers/logs.ts';
import { childPids, readProcStat, waitForProcessesGone } from './helpers/processes.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const gate = new GateSlot();

const stack = useStack({
  pools: async ({ dir, root, fastcgiSocket }) => {
    await gate.open(dir, join(root, 'hold.sh'));
    // No request_terminate_timeout within the test's bounds: only the daemon's reaction to the
    // dead worker can end the script.
    return {
      main: {
        ...defaultPool(root, fastcgiSocket),
        pm: { max_children: 2 },
        request_terminate_timeout: '600s',
      },
    };
  },
});

describe('a worker killed mid-request', () => {
  it('gives its client a 502, kills its script, and is replaced', async () => {
    const { daemon, root } = stack();
    const workers = await waitUntil(
      '2 workers',
      () => (childPids(daemon.pid).length === 2 ? childPids(daemon.pid) : undefined),
      EVENT_TIMEOUT_MS,
    );
    const since = daemon.logs.length;
    // sleep-past-timeout.sh never ends by itself (and the pool timeout is 600 s), so only the
    // daemon can make its process group disappear within the bound below.
    const response = stack().request('/sleep-past-timeout.sh?crash1');
    const [script, sleeper] = await waitUntil(
      'crash1.pids written',
      async () => {
        const text = await readFile(join(root, 'crash1.pids'), 'utf8').catch(() => '');
        const pids = text.trim().split(' ').map(Number);
        return pids.length === 2 && pids.every((p) => p > 0) ? (pids as [number, number]) : undefined;
      },
      EVENT_TIMEOUT_MS,
    );
    const busy = readProcStat(script)?.ppid;
    expect(workers).toContain(busy);
    if (busy === undefined) throw new Error('script has no parent');
    process.kill(busy, 'SIGKILL');

    const res = await response;
    expect(res.status).toBe(502);
    await waitForEvent(daemon, 'worker exited', since);
    await waitForProcessesGone([busy, script, sleeper], script, EVENT_TIMEOUT_MS);

    // Replaced: two live workers again, one of them new.
    const replaced = await waitUntil(
      'the pool back to 2 workers',
      () => {
        const now = childPids(daemon.pid);
        return now.length === 2 && !now.includes(busy) ? now : undefined;
      },
      EVENT_TIMEOUT_MS,
    );
    expect(replaced).toHaveLength(2);
    // Full width again: two held requests run at once, one in each worker.
    try {
      const both = Promise.all(['a', 'b'].map((n) => stack().request(`/hold.sh?${n}`)));
      const pids = await Promise.all(['a', 'b'].map((n) => gate.get().waitStarted(n)));
      const parents = pids.map((pid) => readProcStat(pid)?.ppid);
      expect([...parents].sort()).toEqual([...replaced].sort());
      await gate.get().release('a', 'b');
      expect((await both).map((r) => [r.status, r.text])).toEqual([
        [200, released('a')],
        [200, released('b')],
      ]);
    } finally {
      await gate.get().release('a', 'b');
    }
  });
});
