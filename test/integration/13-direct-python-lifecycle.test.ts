// This file implements the life of a `dispatch = "direct"` python pool's workers from the
// perspective of the operator and of nginx's kept-alive connections: a reload loses no request
// with upstream keep-alive, one worker with an idle kept-alive connection still accepts,
// pm.max_requests and pm.max_memory recycle, and pm other than static is a config error.
// 13-direct-python-nginx.test.ts has the requests themselves.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { createTempDir } from './helpers/temp-dir.ts';
import { writeConfigFile } from './helpers/config-file.ts';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { fcgiRequest, openRawConnection } from './helpers/fastcgi-client.ts';
import { encodeRequest, FCGI, RecordReader } from './helpers/fastcgi-wire.ts';
import { runLoad } from './helpers/load.ts';
import { pythonDirectPool, reloadPythonDirect, workerOf } from './helpers/python-direct.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

describe('a direct python pool behind nginx with upstream keep-alive', () => {
  const stack = useStack({ keepAlive: true, global: CONTROL_GLOBAL, pools: async (paths) => ({ main: await pythonDirectPool(paths) }) });

  it('answers every request', async () => {
    const s = stack();
    const result = await runLoad({
      clients: 4, durationMs: 60_000, maxRequestsPerClient: 10,
      send: (c, i) => s.request(`/who.py?${c}-${i}`),
      check: (response) => (response.status === 200 && /^worker=\d+$/m.test(response.text) ? undefined : `status ${response.status}`),
    });
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(40);
  });

  it('loses no request across a reload: the old workers close their kept-alive connections once idle', async () => {
    await reloadPythonDirect(stack());
  });
});

describe('one direct python worker and an idle kept-alive connection', () => {
  const stack = useStack({
    global: CONTROL_GLOBAL, pools: async (paths) => ({ main: await pythonDirectPool(paths, { pm: { max_children: 1 } }) }),
  });

  it('keeps accepting new connections while a kept-alive one is idle, and serves both', async () => {
    const s = stack();
    const params = { SCRIPT_FILENAME: join(s.root, 'who.py'), SCRIPT_NAME: '/who.py', REQUEST_METHOD: 'GET', QUERY_STRING: 'kept' };
    const kept = await openRawConnection(s.fastcgiSocket);
    const reader = new RecordReader();
    let ends = 0;
    kept.socket.on('data', (b: Buffer) => { ends += reader.push(b).filter((r) => r.type === FCGI.FCGI_END_REQUEST).length; });
    try {
      await kept.write(encodeRequest(1, Object.entries(params), Buffer.alloc(0), true));
      await waitUntil('the kept-alive request answered', () => (ends === 1 ? true : undefined), EVENT_TIMEOUT_MS, 10);
      // The only worker holds that idle connection: new ones must still be accepted.
      for (let i = 0; i < 3; i++) {
        const other = await fcgiRequest({ socketPath: s.fastcgiSocket, params: { ...params, QUERY_STRING: `new-${i}` }, timeoutMs: EVENT_TIMEOUT_MS });
        expect(other.stdout.toString()).toContain(`QUERY_STRING=new-${i}`);
        expect((await s.request(`/who.py?nginx-${i}`)).status).toBe(200);
      }
      await kept.write(encodeRequest(1, Object.entries(params), Buffer.alloc(0), true));
      await waitUntil('the kept-alive connection served again', () => (ends === 2 ? true : undefined), EVENT_TIMEOUT_MS, 10);
      expect(kept.isClosed()).toBe(false);
    } finally {
      kept.destroy();
    }
  });
});

describe('pm.max_requests with a direct python pool', () => {
  const stack = useStack({
    global: CONTROL_GLOBAL,
    pools: async (paths) => ({ main: await pythonDirectPool(paths, { pm: { max_children: 1, max_requests: 5 } }) }),
  });

  it('recycles a worker after its requests, and a new one serves the next', async () => {
    const s = stack();
    const pids: number[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await s.request(`/who.py?recycle-${i}`);
      expect(response.status).toBe(200);
      pids.push(workerOf(response.text));
    }
    expect(new Set(pids).size).toBe(3);
    expect(pids.slice(0, 5).every((p) => p === pids[0])).toBe(true);
    const recycled = s.daemon.logs.filter((e) => e.msg === 'worker recycled' && e.reason === 'max_requests');
    expect(recycled.length).toBeGreaterThanOrEqual(2);
  });
});

describe('pm.max_memory with a direct python pool', () => {
  const stack = useStack({
    global: CONTROL_GLOBAL,
    pools: async (paths) => ({ main: await pythonDirectPool(paths, { pm: { max_children: 1, max_memory: '1MB' } }) }),
  });

  it('recycles a worker whose memory (its own and its runners\') passed the limit, and the next request is served', async () => {
    const s = stack();
    const first = workerOf((await s.request('/who.py?memory-1')).text);
    const recycled = await s.daemon.waitForLog((e) => e.msg === 'worker recycled' && e.reason === 'max_memory', EVENT_TIMEOUT_MS);
    expect(recycled.workerPid).toBe(first);
    await waitUntil('the recycled worker replaced', async () => {
      const now = await poolStatus(controlSocketIn(s.dir), 'main');
      return !now.processes.some((p) => p.pid === first) && now.idle === 1 ? true : undefined;
    }, EVENT_TIMEOUT_MS);
    const next = await s.request('/who.py?memory-2');
    expect(next.status).toBe(200);
    expect(workerOf(next.text)).not.toBe(first);
  });
});

describe('dispatch = "direct" with runtime = "python" and pm other than static', () => {
  it('is a config error naming the file, pool, key, value and why (cgi-fpm check and start)', async () => {
    const tmp = await createTempDir();
    try {
      await mkdir(join(tmp.path, 'cgi-bin'));
      const file = join(tmp.path, 'direct-python.toml');
      await writeConfigFile(file, `[pools.py]\nlisten = "${join(tmp.path, 'py.sock')}"\nroot = "cgi-bin"\nruntime = "python"\npm = "dynamic"\ndispatch = "direct"\n`);
      for (const command of ['check', 'start']) {
        const r = await runCli([command, '-c', file], tmp.path);
        expect(r.code).toBe(78);
        expect(r.stderr).toContain(`${file}: pool "py"`);
        expect(r.stderr).toContain('dispatch = "direct" needs pm = "static", got pm = "dynamic"');
      }
    } finally {
      await tmp.remove();
    }
  });
});
