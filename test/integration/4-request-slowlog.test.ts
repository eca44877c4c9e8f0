// This file implements request_slowlog_timeout (issue 4) from the perspective of an operator
// reading the log while a slow script runs behind nginx: once the request has run 500 ms, and
// while it still runs, a "slow request" line names the script, the worker's pid and the time
// elapsed; the request still completes with 200, and `cgi-fpm status` counts it. The slow
// script is held by the test until the line is seen, so "while it still runs" is certain.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { GateSlot, released } from './helpers/gate.ts';
import { isForScript } from './helpers/logs.ts';
import { childPids, readProcStat } from './helpers/processes.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const SLOWLOG_MS = 500;

const gate = new GateSlot();

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ dir, root, fastcgiSocket }) => {
    await gate.open(dir, join(root, 'hold.sh'));
    return { main: { ...defaultPool(root, fastcgiSocket), request_slowlog_timeout: `${SLOWLOG_MS}ms` } };
  },
});

describe('request_slowlog_timeout = 500ms and a script held until the line is logged', () => {
  it('logs "slow request" with script, pid and elapsed while it runs, and counts it', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const workers = childPids(s.daemon.pid);
    let answered = false;
    try {
      const started = Date.now();
      const response = s.request('/hold.sh?slowlog').finally(() => {
        answered = true;
      });
      const script = await gate.get().waitStarted('slowlog');
      const slow = await s.daemon.waitForLog(
        (e) => e.msg === 'slow request' && isForScript(e, 'hold.sh'),
        EVENT_TIMEOUT_MS,
        since,
      );
      const seenAfter = Date.now() - started;
      // Logged while the request still runs (it cannot end before the test releases it)...
      expect(answered).toBe(false);
      expect(await poolStatus(controlSocketIn(s.dir), 'main')).toMatchObject({ busy: 1, slowRequests: 1 });
      // ...and not before request_slowlog_timeout (the daemon's own timer).
      expect(seenAfter).toBeGreaterThanOrEqual(SLOWLOG_MS - 50);
      expect(slow.elapsedMs).toBeGreaterThanOrEqual(SLOWLOG_MS);
      expect(slow.pool).toBe('main');
      expect(workers).toContain(slow.workerPid);
      expect(readProcStat(script)?.ppid).toBe(slow.workerPid);

      await gate.get().release('slowlog');
      const res = await response;
      expect([res.status, res.text]).toEqual([200, released('slowlog')]);
      const pool = await poolStatus(controlSocketIn(s.dir), 'main');
      expect(pool.slowRequests).toBe(1);
      // A fast request is not slow: counted only when it really ran past the timeout, which
      // its "slow request" line then says (a loaded machine may make even hello.sh that slow).
      expect((await s.request('/hello.sh')).status).toBe(200);
      const counted = await waitUntil(
        'every counted slow request logged',
        async () => {
          const lines = s.daemon.logs.slice(since).filter((e) => e.msg === 'slow request');
          const { slowRequests } = await poolStatus(controlSocketIn(s.dir), 'main');
          return lines.length === slowRequests && lines;
        },
        EVENT_TIMEOUT_MS,
      );
      for (const line of counted) expect(line.elapsedMs).toBeGreaterThanOrEqual(SLOWLOG_MS);
      expect(counted.filter((e) => !isForScript(e, 'hello.sh'))).toEqual([slow]);
    } finally {
      await gate.get().release('slowlog');
    }
  });
});
