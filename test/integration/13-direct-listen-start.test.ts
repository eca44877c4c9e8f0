// This file implements the opening of a `dispatch = "direct"` pool's socket from the perspective
// of a web server that connects while the daemon is still starting (nginx retrying during a
// restart): the connection waits in the socket's backlog and a worker answers it. The supervisor
// binds the socket and holds it in the same turn of its event loop (listen-holder.ts): it never
// accepts a connection there (one it took had no channel to go to and got a 503 after
// queue.timeout, and held the socket's hand-over, and so the workers' start, as long).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon } from './helpers/daemon.ts';
import { fcgiRequest, type FcgiResponse } from './helpers/fastcgi-client.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { createTempDir } from './helpers/temp-dir.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

const MODULE = `${REPO_ROOT}/test/integration/fixtures/handlers/direct-app.mjs`;

/** Sends one request as soon as the socket takes a connection (tried every 2 ms until then). */
async function firstRequest(socketPath: string, root: string): Promise<FcgiResponse> {
  const until = Date.now() + EVENT_TIMEOUT_MS;
  for (;;) {
    try {
      return await fcgiRequest({
        socketPath, timeoutMs: EVENT_TIMEOUT_MS,
        params: { SCRIPT_FILENAME: join(root, 'early'), SCRIPT_NAME: '/early', REQUEST_URI: '/early', REQUEST_METHOD: 'GET' },
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Not bound yet, or the socket file renamed aside for an instant while it is held.
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}

describe('a direct pool\'s socket while the daemon starts', () => {
  it('answers a connection made as soon as the socket exists from a worker, never from the supervisor', async () => {
    const tmp = await createTempDir();
    try {
      const socketPath = join(tmp.path, 'direct.sock');
      const root = tmp.path;
      const daemon = await startDaemon({
        dir: tmp.path, awaitReady: false,
        config: {
          global: { log_level: 'info' },
          pools: {
            main: {
              listen: socketPath, root, runtime: 'handler', 'handler.module': MODULE, match: ['**'],
              pm: 'static', 'pm.max_children': 2, dispatch: 'direct', 'queue.timeout': '2s',
            },
          },
        },
      });
      try {
        const response = await firstRequest(socketPath, root);
        expect(response.protocolStatus).toBe(0);
        expect(response.stdout.toString('latin1')).toMatch(/hello direct \d+\n$/);
        // The supervisor answered nothing itself (it would have logged a request line).
        expect(daemon.logs.filter((e) => e.pid === daemon.pid && (e.msg === 'request' || e.msg === 'pool overloaded'))).toEqual([]);
      } finally {
        await daemon.stop();
      }
    } finally {
      await tmp.remove();
    }
  });
});
