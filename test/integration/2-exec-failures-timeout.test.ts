// This file implements issue 2's failure checks from the perspective of an HTTP client behind
// nginx (and of a FastCGI client that hangs up): a script that dies before its headers is a 502,
// a script past request_terminate_timeout is a 504 (the daemon's, logged "request timeout", not
// nginx's) and its whole process group is killed, and a client going away kills the group too.
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { encodeRequest } from './helpers/fastcgi-wire.ts';
import { openRawConnection } from './helpers/fastcgi-client.ts';
import { expectTimeout504, waitForEvent, waitForRequestLog } from './helpers/logs.ts';
import { readProcStat, scriptsGroup, waitForProcessesGone } from './helpers/processes.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const TIMEOUT_MS = 2000;

// Two pools on one listener: "main" (the fixtures, 2 s timeout) and "patient" (a copy of the
// sleeping script in its own root, 600 s timeout) for the client-abort test, where only the
// abort, never the timeout, may be what kills the script.
const stack = useStack({
  pools: async ({ dir, root, fastcgiSocket }) => {
    const patientRoot = join(dir, 'patient');
    await mkdir(patientRoot);
    await cp(join(root, 'sleep-past-timeout.sh'), join(patientRoot, 'sleep-past-timeout.sh'));
    return {
      main: { ...defaultPool(root, fastcgiSocket), request_terminate_timeout: `${TIMEOUT_MS / 1000}s` },
      patient: { ...defaultPool(patientRoot, fastcgiSocket), request_terminate_timeout: '600s' },
    };
  },
});

/** Waits for `<dir>/<token>.pids` from sleep-past-timeout.sh: [script pid, `sleep 300` pid]. */
async function readPids(dir: string, token: string): Promise<[number, number]> {
  return waitUntil(
    `${token}.pids written`,
    async () => {
      const text = await readFile(join(dir, `${token}.pids`), 'utf8').catch(() => '');
      const [script, child] = text.trim().split(' ').map(Number);
      return script !== undefined && child !== undefined && script > 0 && child > 0
        ? ([script, child] as [number, number])
        : undefined;
    },
    EVENT_TIMEOUT_MS,
  );
}

describe('exec failures behind nginx', () => {
  it('a script that exits 1 before any header is a 502 with "no cgi headers" (exit code 1)', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/crash.sh');
    expect(res.status).toBe(502);
    const event = await waitForEvent(daemon, 'no cgi headers', since);
    expect(event.exitCode).toBe(1);
    expect(await waitForRequestLog(daemon, 'crash.sh', since)).toMatchObject({ status: 502 });
    const next = await stack().request('/get-echo.py?after=crash');
    expect(next.status).toBe(200);
  });

  it('a script sleeping past request_terminate_timeout is a 504 and its whole process group is gone', async () => {
    const { daemon, root } = stack();
    const since = daemon.logs.length;
    const started = Date.now();
    const response = stack().request('/sleep-past-timeout.sh?timeout1');
    const [scriptPid, sleepPid] = await readPids(root, 'timeout1');
    // The script runs in its worker's group for scripts, and the grandchild is in it.
    const group = scriptsGroup(scriptPid);
    expect(readProcStat(sleepPid)?.pgrp).toBe(group);

    const res = await response;
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    // Not before the timeout (the daemon's own timer: sound on any machine)...
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    // ...and because of it: the daemon's page (not nginx's 504 at fastcgi_read_timeout) and
    // its "request timeout" line for this script, which ran that long by the daemon's clock.
    await expectTimeout504(daemon, res, 'sleep-past-timeout.sh', since, TIMEOUT_MS);
    await waitForProcessesGone([scriptPid, sleepPid], group, EVENT_TIMEOUT_MS);

    const next = await stack().request('/get-echo.py?after=timeout');
    expect(next.status).toBe(200);
  });

  it('a client that goes away mid-request gets its script process group killed (600 s pool timeout)', async () => {
    const { dir, fastcgiSocket } = stack();
    const patientRoot = join(dir, 'patient');
    const conn = await openRawConnection(fastcgiSocket);
    try {
      await conn.write(
        encodeRequest(
          1,
          Object.entries(nginxLikeParams(patientRoot, '/sleep-past-timeout.sh', { QUERY_STRING: 'abort1' })),
          Buffer.alloc(0),
          false,
        ),
      );
      const [scriptPid, sleepPid] = await readPids(patientRoot, 'abort1');
      const group = scriptsGroup(scriptPid);
      expect(readProcStat(sleepPid)?.pgrp).toBe(group);
      conn.destroy();
      await waitForProcessesGone([scriptPid, sleepPid], group, EVENT_TIMEOUT_MS);
    } finally {
      conn.destroy();
    }
  });
});
