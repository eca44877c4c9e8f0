// This file implements the graceful stop from the perspective of an operator (or systemd)
// sending SIGTERM while nginx is still running: a request in flight is answered, idle
// kept-alive FastCGI connections from nginx do not hold the daemon up (it exits 0 by itself,
// without waiting for process_control_timeout), and it leaves no worker behind.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Gate, released } from './helpers/gate.ts';
import { waitForEvent } from './helpers/logs.ts';
import { childPids, waitForProcessesGone } from './helpers/processes.ts';
import { writeScript } from './helpers/scripts.ts';
import { defaultPool, startStack } from './helpers/stack.ts';
import { acceptedConnections } from './helpers/unix-sockets.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

/** What the daemon logs when a stop had to wait for process_control_timeout. */
const KILLING = 'process_control_timeout passed, killing workers';

describe('SIGTERM', () => {
  it('with idle keep-alive connections from nginx: exit 0 without waiting, no worker left', async () => {
    const stack = await startStack({ keepAlive: true });
    try {
      for (let i = 0; i < 3; i++) expect((await stack.request('/hello.sh')).status).toBe(200);
      // nginx now holds an idle FastCGI connection to the daemon (upstream keepalive).
      expect(acceptedConnections(stack.fastcgiSocket).length).toBeGreaterThanOrEqual(1);
      const workers = childPids(stack.daemon.pid);
      expect(workers.length).toBe(2);
      const since = stack.daemon.logs.length;
      // Exit 0 by itself (the helper's SIGKILL would give no code), its last word said, and
      // nothing waited for process_control_timeout.
      expect(await stack.daemon.stop()).toBe(0);
      const said = stack.daemon.logs.slice(since).map((e) => e.msg);
      expect(said).toContain('exiting, bye-bye');
      expect(said).not.toContain(KILLING);
      await waitForProcessesGone(workers, undefined, EVENT_TIMEOUT_MS);
    } finally {
      await stack.stop();
    }
  });

  it('with a request in flight: the request is answered, then exit 0, no worker left', async () => {
    let gate: Gate | undefined;
    const stack = await startStack({
      pools: async ({ dir, root, fastcgiSocket }) => {
        gate = await Gate.open(join(dir, 'gate'));
        await writeScript(root, 'hold.sh', gate.shScript());
        return { main: defaultPool(root, fastcgiSocket) };
      },
    });
    const held = gate;
    if (held === undefined) throw new Error('gate: not opened');
    try {
      const workers = childPids(stack.daemon.pid);
      const inFlight = stack.request('/hold.sh?inflight');
      await held.waitStarted('inflight');
      const since = stack.daemon.logs.length;
      const stopping = stack.daemon.stop();
      // The stop has begun while the request runs; only then may it end.
      await waitForEvent(stack.daemon, 'stopping', since);
      await held.release('inflight');
      const res = await inFlight;
      expect([res.status, res.text]).toEqual([200, released('inflight')]);
      expect(await stopping).toBe(0);
      expect(stack.daemon.logs.slice(since).map((e) => e.msg)).not.toContain(KILLING);
      await waitForProcessesGone(workers, undefined, EVENT_TIMEOUT_MS);
    } finally {
      await held.release('inflight');
      await stack.stop();
    }
  });
});
