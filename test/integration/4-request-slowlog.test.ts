// This file implements request_slowlog_timeout (issue 4) from the perspective of an operator
// reading the log while a slow script runs behind nginx: once the request has run 500 ms, and
// while it still runs, a "slow request" line names the script, the worker's pid and the time
// elapsed; the request still completes with 200, and `cgi-fpm status` counts it.
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { isForScript } from './helpers/logs.ts';
import { childPids } from './helpers/processes.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';

const SLOWLOG_MS = 500;

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: ({ root, fastcgiSocket }) => ({
    main: { ...defaultPool(root, fastcgiSocket), request_slowlog_timeout: `${SLOWLOG_MS}ms` },
  }),
});

describe('request_slowlog_timeout = 500ms and a 2-second script', () => {
  it('logs "slow request" with script, pid and elapsed while it runs, and counts it', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const workers = childPids(s.daemon.pid);
    let answered = false;
    const started = Date.now();
    const response = s.request('/slow-2s.sh?slowlog', { timeoutMs: 15_000 }).finally(() => {
      answered = true;
    });
    const slow = await s.daemon.waitForLog(
      (e) => e.msg === 'slow request' && isForScript(e, 'slow-2s.sh'),
      3000,
      since,
    );
    const seenAfter = Date.now() - started;
    // Logged while the request still runs, not with its end.
    expect(answered).toBe(false);
    expect(seenAfter).toBeGreaterThanOrEqual(SLOWLOG_MS - 50);
    expect(seenAfter).toBeLessThan(1900);
    expect(slow.pool).toBe('main');
    expect(workers).toContain(slow.workerPid);
    expect(slow.elapsedMs).toBeGreaterThanOrEqual(SLOWLOG_MS);
    expect(slow.elapsedMs).toBeLessThan(1900);

    const res = await response;
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^slept 2s in pid \d+\n$/);
    const pool = await poolStatus(controlSocketIn(s.dir), 'main');
    expect(pool.slowRequests).toBe(1);
    // A fast request is not slow.
    expect((await s.request('/hello.sh')).status).toBe(200);
    expect((await poolStatus(controlSocketIn(s.dir), 'main')).slowRequests).toBe(1);
  });
});
