// This file implements issue 10 item 4's last part from the perspective of a daemon out of
// file descriptors: started under `prlimit --nofile` (a low RLIMIT_NOFILE), its listener is
// filled with connections until accept(2) fails with EMFILE, then a worker is killed. The
// respawn's spawn failed with EMFILE (no pid, no stdio) and the supervisor threw a TypeError
// from the worker's exit handler and died. Now the accept errors and the failed spawns are
// logged, the pool backs off, and once connections close it recovers and serves.
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { startDaemon, type Daemon } from './helpers/daemon.ts';
import { fcgiRequest, openRawConnection, type RawConnection } from './helpers/fastcgi-client.ts';
import { childPids, isProcessAlive, killQuietly } from './helpers/processes.ts';
import { writeScript } from './helpers/scripts.ts';
import { createTempDir } from './helpers/temp-dir.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const NOFILE = 200;
const HELLO = '#!/bin/sh\n# Written by the test.\nprintf \'Content-Type: text/plain\\r\\n\\r\\nhello\\n\'\n';

describe('a worker respawn at the fd limit', () => {
  it('fails cleanly (logged, backoff), the daemon stays up and recovers once fds free', { timeout: 180_000 }, async () => {
    const dir = await createTempDir('cgi-fpm-fdlimit-');
    const conns: RawConnection[] = [];
    let daemon: Daemon | undefined;
    try {
      const root = `${dir.path}/root`;
      await writeScript(root, 'hello.sh', HELLO);
      const socketPath = `${dir.path}/fcgi.sock`;
      daemon = await startDaemon({
        dir: dir.path,
        launcher: ['prlimit', `--nofile=${NOFILE}:${NOFILE}`],
        config: {
          global: { log_level: 'info', client_header_timeout: 0, keepalive_timeout: 0 },
          pools: { main: { listen: socketPath, root, match: ['*.sh'], pm: 'static', 'pm.max_children': 2, env: { PATH: '/usr/bin:/bin' } } },
        },
      });
      const d = daemon;
      const params = nginxLikeParams(root, '/hello.sh');
      const hello = async (): Promise<number | undefined> => {
        const answer = await fcgiRequest({ socketPath, params, timeoutMs: EVENT_TIMEOUT_MS }).catch(() => undefined);
        return answer === undefined ? undefined : parseCgiResponse(answer.stdout).status;
      };
      expect(await hello()).toBe(200);
      const since = d.logs.length;

      // Fill the daemon's fd table: connect until accept(2) fails with EMFILE, which shows as
      // connections closed at once (libuv accepts and closes them with its reserved fd; no
      // timeout or connection limit applies here).
      await waitUntil('connections closed at once: the daemon at its fd limit', async () => {
        const batch = await Promise.all(Array.from({ length: 10 }, () => openRawConnection(socketPath).catch(() => undefined)));
        for (const conn of batch) if (conn !== undefined) conns.push(conn);
        return conns.some((c) => c.isClosed());
      }, EVENT_TIMEOUT_MS, 50);
      expect(conns.length).toBeLessThan(NOFILE);

      // Kill a worker: its respawn runs out of fds.
      const [worker] = childPids(d.pid);
      expect(worker).toBeDefined();
      killQuietly(worker ?? 0, 'SIGKILL');
      const failed = await d.waitForLog((l) => l.msg === 'worker failed to start' || l.msg === 'pool backing off', EVENT_TIMEOUT_MS, since);
      expect(String(failed.cause)).toContain('EMFILE');
      expect(d.logs.slice(since).some((l) => l.msg === 'worker spawn failed')).toBe(true);
      expect(isProcessAlive(d.pid)).toBe(true);

      // Connections close, fds free: the backoff's next probe starts a worker and the pool serves.
      for (const conn of conns.splice(0)) conn.destroy();
      await d.waitForLog((l) => l.msg === 'pool recovered', 120_000, since);
      await waitUntil('a request answered after recovery', async () => (await hello()) === 200, EVENT_TIMEOUT_MS, 200);
      expect(isProcessAlive(d.pid)).toBe(true);
      expect(d.logs.filter((l) => l.msg?.startsWith('uncaught error') === true)).toEqual([]);
    } finally {
      for (const conn of conns) conn.destroy();
      await daemon?.stop();
      await dir.remove();
    }
  });
});
