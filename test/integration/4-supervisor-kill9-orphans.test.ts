// This file implements "workers and CGI children never outlive the supervisor" (issue 4) from
// the perspective of an operator (or the OOM killer) sending SIGKILL to the supervisor while a
// request runs an exec CGI script (which started a grandchild) and another waits in the queue:
// no worker, no CGI script and nothing of its process group is left (by pid and by process
// group, read from /proc; zombies count as gone). Nothing else could end them within the wait:
// the script never ends by itself and the pool has no request_terminate_timeout that short.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { childPids, processGroupMembers, readProcStat, scriptsGroup, waitForProcessesGone } from './helpers/processes.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: ({ root, fastcgiSocket }) => ({
    main: { ...defaultPool(root, fastcgiSocket), pm: { max_children: 1 }, request_terminate_timeout: '600s' },
  }),
});

describe('kill -9 of the supervisor with a request running and one queued', () => {
  it('leaves no worker and no CGI child', async () => {
    const s = stack();
    const workers = childPids(s.daemon.pid);
    expect(workers).toHaveLength(1);
    // sleep-past-timeout.sh starts `sleep 300 &` in its process group and waits: only a kill
    // of the whole group ends it.
    const running = s.request('/sleep-past-timeout.sh?k9').catch((err: unknown) => err);
    const [script, sleeper] = await waitUntil(
      'k9.pids written',
      async () => {
        const text = await readFile(join(s.root, 'k9.pids'), 'utf8').catch(() => '');
        const pids = text.trim().split(' ').map(Number);
        return pids.length === 2 && pids.every((p) => p > 0) ? (pids as [number, number]) : undefined;
      },
      EVENT_TIMEOUT_MS,
    );
    const waiting = s.request('/hello.sh?queued').catch((err: unknown) => err);
    await waitUntil(
      'one request queued',
      async () => (await poolStatus(controlSocketIn(s.dir), 'main')).queueLength === 1,
      EVENT_TIMEOUT_MS,
      20,
    );
    // The script is the worker's child, in the worker's group for scripts with the sleeper.
    expect(readProcStat(script)).toMatchObject({ ppid: workers[0] });
    const group = scriptsGroup(script);
    expect(processGroupMembers(group).sort()).toEqual([script, sleeper].sort());

    process.kill(s.daemon.pid, 'SIGKILL');
    await waitForProcessesGone([...workers, script, sleeper], group, EVENT_TIMEOUT_MS);
    expect((await s.daemon.exited).signal).toBe('SIGKILL');
    // nginx answers both clients itself once the daemon is gone: 502, no hang.
    const answers = await Promise.all([running, waiting]);
    expect(answers.map((a) => (a instanceof Error ? a.message : (a as { status: number }).status))).toEqual([
      502, 502,
    ]);
  });
});
