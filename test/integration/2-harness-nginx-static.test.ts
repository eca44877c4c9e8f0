// This file implements a self-check of the integration harness from the perspective of a test
// author, with no cgi-fpm involved: the private nginx starts from its generated config on a
// temporary unix socket, serves a static file (plain and over a kept-alive connection), logs
// into its temp prefix, and stops by PID. When this fails, the other suites' failures are the
// harness's, not the daemon's.
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest, keepAliveAgent } from './helpers/http.ts';
import { startNginx, type Nginx } from './helpers/nginx.ts';
import { isProcessAlive } from './helpers/processes.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

let tmp: TempDir | undefined;
let nginx: Nginx | undefined;

function started(): Nginx {
  if (nginx === undefined) throw new Error('nginx not started (see beforeAll)');
  return nginx;
}

beforeAll(async () => {
  tmp = await createTempDir();
  const docroot = join(tmp.path, 'static');
  await mkdir(docroot);
  await writeFile(join(docroot, 'hello.txt'), 'hello from a static file\n');
  const httpSocket = join(tmp.path, 'http.sock');
  nginx = await startNginx({
    dir: join(tmp.path, 'nginx'),
    httpSocket,
    site: `server {\n    listen unix:${httpSocket};\n    root ${docroot};\n}\n`,
  });
});

afterAll(async () => {
  await nginx?.stop();
  await tmp?.remove();
});

describe('the nginx harness alone', () => {
  it('serves a static file over its unix socket and logs the request in its temp prefix', async () => {
    const res = await httpRequest({ socketPath: started().httpSocket, path: '/hello.txt' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello from a static file\n');
    expect(await started().accessLog()).toContain('GET /hello.txt HTTP/1.1" 200');
  });

  it('reuses one connection for sequential requests with the keep-alive agent', async () => {
    const agent = keepAliveAgent(1);
    try {
      for (let i = 0; i < 5; i++) {
        const res = await httpRequest({
          socketPath: started().httpSocket,
          path: '/hello.txt',
          agent,
        });
        expect(res.status).toBe(200);
      }
      // One socket open and idle in the agent; none were discarded along the way.
      const free = Object.values(agent.freeSockets).flat();
      expect(free.length).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('answers 404 for a missing file', async () => {
    const res = await httpRequest({
      socketPath: started().httpSocket,
      path: '/missing.txt',
    });
    expect(res.status).toBe(404);
  });

  it('cuts off a request to a server that never answers, at its timeout', async () => {
    const silentSocket = join(tmp?.path ?? '', 'silent.sock');
    const held: Socket[] = [];
    let hungUp = 0;
    const silent = createServer((socket) => {
      held.push(socket);
      // Reads (and drops) what comes, so the client's hang-up is seen; never answers.
      socket.resume();
      socket.once('close', () => {
        hungUp += 1;
      });
    });
    await new Promise<void>((resolve) => silent.listen(silentSocket, resolve));
    try {
      const begun = Date.now();
      await expect(httpRequest({ socketPath: silentSocket, path: '/', timeoutMs: 300 })).rejects.toThrow(
        /no complete response within 300 ms/,
      );
      // Cut off by its own timer (not before it), and the connection closed from its side.
      expect(Date.now() - begun).toBeGreaterThanOrEqual(250);
      expect(held).toHaveLength(1);
      await waitUntil('the client hung up', () => hungUp === 1, EVENT_TIMEOUT_MS, 10);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('stops by PID: the master process is gone', async () => {
    const { pid } = started();
    expect(isProcessAlive(pid)).toBe(true);
    expect(await started().stop()).toBe(0);
    expect(isProcessAlive(pid)).toBe(false);
  });
});
