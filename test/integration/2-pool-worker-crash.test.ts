// This file implements worker replacement from the perspective of an HTTP client behind nginx
// whose request is being served when its worker is killed (SIGKILL): the client gets a 502
// ("worker exited"), the orphaned CGI script's process group is gone, the pool spawns a new
// worker, and the pool serves at full width again.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitForEvent } from './helpers/logs.ts';
import { childPids, readProcStat, waitForProcessesGone } from './helpers/processes.ts';
import { useStack } from './helpers/use-stack.ts';
import { waitUntil } from './helpers/wait.ts';

const stack = useStack({ pool: { pm: { max_children: 2 } } });

describe('a worker killed mid-request', () => {
  it('gives its client a 502, kills its script, and is replaced', async () => {
    const { daemon, root } = stack();
    const workers = await waitUntil(
      '2 workers',
      () => (childPids(daemon.pid).length === 2 ? childPids(daemon.pid) : undefined),
      10_000,
    );
    const since = daemon.logs.length;
    // sleep-past-timeout.sh never ends by itself (and the pool timeout is 30 s), so only the
    // daemon can make its process group disappear within the bound below.
    const response = stack().request('/sleep-past-timeout.sh?crash1', { timeoutMs: 15_000 });
    const [script, sleeper] = await waitUntil(
      'crash1.pids written',
      async () => {
        const text = await readFile(join(root, 'crash1.pids'), 'utf8').catch(() => '');
        const pids = text.trim().split(' ').map(Number);
        return pids.length === 2 && pids.every((p) => p > 0) ? (pids as [number, number]) : undefined;
      },
      5000,
    );
    const busy = readProcStat(script)?.ppid;
    expect(workers).toContain(busy);
    if (busy === undefined) throw new Error('script has no parent');
    process.kill(busy, 'SIGKILL');

    const res = await response;
    expect(res.status).toBe(502);
    await waitForEvent(daemon, 'worker exited', since);
    await waitForProcessesGone([busy, script, sleeper], script, 10_000);

    // Replaced: two live workers again, one of them new.
    const replaced = await waitUntil(
      'the pool back to 2 workers',
      () => {
        const now = childPids(daemon.pid);
        return now.length === 2 && !now.includes(busy) ? now : undefined;
      },
      10_000,
    );
    expect(replaced).toHaveLength(2);
    // Full width again: two 2-second requests at once take about 2 s, not 4.
    const started = Date.now();
    const both = await Promise.all([
      stack().request('/slow-2s.sh?n=a', { timeoutMs: 15_000 }),
      stack().request('/slow-2s.sh?n=b', { timeoutMs: 15_000 }),
    ]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect(Date.now() - started).toBeLessThan(3800);
  });
});
