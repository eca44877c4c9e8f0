// This file implements the graceful stop from the perspective of an operator (or systemd)
// sending SIGTERM while nginx is still running: a request in flight is answered, idle
// kept-alive FastCGI connections from nginx do not hold the daemon up, it exits 0 promptly and
// leaves no worker behind.
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { childPids, waitForProcessesGone } from './helpers/processes.ts';
import { startStack } from './helpers/stack.ts';
import { acceptedConnections } from './helpers/unix-sockets.ts';

/** Well under the helper's 10 s SIGKILL, so a hang shows as a failure, not a slow pass. */
const STOP_BOUND_MS = 5000;

describe('SIGTERM', () => {
  it('with idle keep-alive connections from nginx: exit 0 within 5 s, no worker left', async () => {
    const stack = await startStack({ keepAlive: true });
    try {
      for (let i = 0; i < 3; i++) expect((await stack.request('/hello.sh')).status).toBe(200);
      // nginx now holds an idle FastCGI connection to the daemon (upstream keepalive).
      expect(acceptedConnections(stack.fastcgiSocket).length).toBeGreaterThanOrEqual(1);
      const workers = childPids(stack.daemon.pid);
      expect(workers.length).toBe(2);
      const started = Date.now();
      const code = await stack.daemon.stop();
      const elapsed = Date.now() - started;
      expect({ code, elapsedUnderBound: elapsed < STOP_BOUND_MS }).toEqual({
        code: 0,
        elapsedUnderBound: true,
      });
      await waitForProcessesGone(workers, undefined, 5000);
    } finally {
      await stack.stop();
    }
  });

  it('with a request in flight: the request is answered, then exit 0, no worker left', async () => {
    const stack = await startStack();
    try {
      const workers = childPids(stack.daemon.pid);
      const inFlight = stack.request('/slow-2s.sh?n=inflight', { timeoutMs: 15_000 });
      await delay(500);
      const stopping = stack.daemon.stop();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/^slept 2s in pid \d+\n$/);
      expect(await stopping).toBe(0);
      await waitForProcessesGone(workers, undefined, 5000);
    } finally {
      await stack.stop();
    }
  });
});
