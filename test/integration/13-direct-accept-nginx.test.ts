// This file implements issue 13's direct-accept mode from the perspective of HTTP clients behind
// a real nginx and of the operator: a `dispatch = "direct"` handler pool answers through the
// pool's socket with the supervisor out of the request path (the workers accept), with and
// without FastCGI keep-alive; `cgi-fpm status` still counts accepted connections and each
// worker's requests (from the heartbeat); a handler stuck in an endless loop is killed by
// request_terminate_timeout (nginx answers 502) and replaced; a reload under load loses no
// request; the handler cannot reach Node IPC; a node pool cannot be direct.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { createTempDir } from './helpers/temp-dir.ts';
import { writeConfigFile, type TomlDocument } from './helpers/config-file.ts';
import { CONTROL_GLOBAL, controlSocketIn, heartbeatCounted, poolStatus, type PoolStatus } from './helpers/control.ts';
import { fcgiKeepConnSequence } from './helpers/fastcgi-keep-conn.ts';
import { reloadUnderLoad as reloadDirectUnderLoad } from './helpers/direct-reload.ts';
import { runLoad } from './helpers/load.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { defaultPool, type Stack, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const MODULE = `${REPO_ROOT}/test/integration/fixtures/handlers/direct-app.mjs`;

function directPool(paths: StackPaths, extra: TomlDocument = {}): TomlDocument {
  return {
    ...defaultPool(paths.root, paths.fastcgiSocket),
    runtime: 'handler', 'handler.module': MODULE, match: ['**'],
    pm: { max_children: 2 }, dispatch: 'direct', request_terminate_timeout: '3s', 'ping.path': '/ping',
    ...extra,
  };
}

const HELLO = /^hello direct (\d+)\n$/;

function helloPid(text: string): number {
  const pid = HELLO.exec(text)?.[1];
  if (pid === undefined) throw new Error(`not a hello: ${JSON.stringify(text)}`);
  return Number(pid);
}

/** Reloads to a changed pool (new workers) under a bounded load: no request may fail. */
async function reloadUnderLoad(s: Stack): Promise<void> {
  await reloadDirectUnderLoad(s, {
    pool: 'main', path: (c, i) => `/hello?${c}-${i}`, ok: (response) => HELLO.test(response.text),
    pools: { main: directPool(s, { request_terminate_timeout: '4s' }) },
  });
}

describe('a direct handler pool behind nginx (no upstream keep-alive)', () => {
  const stack = useStack({ global: CONTROL_GLOBAL, pools: (paths) => ({ main: directPool(paths) }) });

  it('answers with the handler\'s body from both workers, and the log shows the pool in direct mode', async () => {
    const s = stack();
    const listening = s.daemon.logs.find((e) => e.msg === 'listening' && Array.isArray(e.pools) && e.pools.includes('main'));
    expect(listening?.dispatch).toBe('direct');
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const response = await s.request(`/hello?${i}`);
      expect(response.status).toBe(200);
      pids.add(helloPid(response.text));
    }
    const status = await poolStatus(controlSocketIn(s.dir), 'main');
    expect([...pids].every((pid) => status.processes.some((p) => p.pid === pid))).toBe(true);
  });

  it('counts accepted conn and each worker\'s requests from the heartbeat', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    // The test before sent 20 requests (no upstream keep-alive: one connection each).
    const counted = (total: number): Promise<PoolStatus> => heartbeatCounted(control, 'main', total);
    const before = await counted(20);
    expect(before.accepted).toBeGreaterThanOrEqual(20);
    const sent = 12;
    for (let i = 0; i < sent; i++) expect((await s.request(`/hello?count-${i}`)).status).toBe(200);
    const after = await counted(20 + sent);
    expect(after.accepted).toBeGreaterThanOrEqual(20 + sent);
    expect(after.pm).toBe('static');
    expect(after.idle + after.busy).toBe(2);
  });

  it('streams a 2 MiB body to a handler that sent its head first, and its echo back', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    const response = await stack().request('/echo-late', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(200);
    expect(createHash('sha256').update(response.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('answers ping.path in the worker', async () => {
    const response = await stack().request('/ping');
    expect([response.status, response.text]).toEqual([200, 'pong']);
  });

  it('attack: a handler finds no Node IPC to reach the supervisor with', async () => {
    const response = await stack().request('/ipc');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ send: 'undefined', connected: null, channel: null, disconnect: 'undefined' });
  });

  it('serves several requests on one kept-alive FastCGI connection', async () => {
    const s = stack();
    const params = { SCRIPT_FILENAME: join(s.root, 'kept'), SCRIPT_NAME: '/kept', REQUEST_URI: '/kept', REQUEST_METHOD: 'GET' };
    const { responses, stillOpen } = await fcgiKeepConnSequence(s.fastcgiSocket, [{ params }, { params }, { params }]);
    const bodies = responses.map((r) => r.stdout.toString('latin1'));
    expect(bodies.every((b) => b.startsWith('Status: 200') || b.includes('hello direct'))).toBe(true);
    // One connection stays with one worker.
    expect(new Set(bodies.map((b) => /hello direct (\d+)/.exec(b)?.[1])).size).toBe(1);
    expect(stillOpen).toBe(true);
  });

  it('kills a worker stuck in an endless loop at request_terminate_timeout (502) and replaces it', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const before = await poolStatus(control, 'main');
    const since = s.daemon.logs.length;
    const response = await s.request('/spin', { timeoutMs: EVENT_TIMEOUT_MS });
    expect(response.status).toBe(502);
    const line = await s.daemon.waitForLog((e) => typeof e.msg === 'string' && e.msg.startsWith('direct: request timeout'), EVENT_TIMEOUT_MS, since);
    expect(line.pool).toBe('main');
    expect(typeof line.workerPid).toBe('number');
    const after = await waitUntil('a new worker replaced the killed one', async () => {
      const now = await poolStatus(control, 'main');
      return now.killed === before.killed + 1 && now.idle === 2 ? now : undefined;
    }, EVENT_TIMEOUT_MS);
    expect(after.processes.some((p) => p.pid === line.workerPid)).toBe(false);
    const next = await s.request('/hello?after-spin');
    expect(next.status).toBe(200);
    expect(helloPid(next.text)).not.toBe(line.workerPid);
  });

  it('loses no request across a reload that replaces the workers', async () => {
    await reloadUnderLoad(stack());
  });
});

describe('pm.max_requests with dispatch = "direct"', () => {
  const stack = useStack({
    global: CONTROL_GLOBAL,
    pools: (paths) => ({ main: directPool(paths, { pm: { max_children: 1, max_requests: 5 } }) }),
  });

  it('recycles a worker after its requests, and a new one serves the next', async () => {
    const s = stack();
    const pids: number[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await s.request(`/hello?recycle-${i}`);
      expect(response.status).toBe(200);
      pids.push(helloPid(response.text));
    }
    // 5 per worker (the jitter of a limit of 5 is 0): three workers served the 12 requests.
    expect(new Set(pids).size).toBe(3);
    expect(pids.slice(0, 5).every((p) => p === pids[0])).toBe(true);
    const recycled = s.daemon.logs.filter((e) => e.msg === 'worker recycled' && e.reason === 'max_requests');
    expect(recycled.length).toBeGreaterThanOrEqual(2);
  });
});

describe('pm.max_memory with dispatch = "direct"', () => {
  const stack = useStack({
    global: CONTROL_GLOBAL,
    pools: (paths) => ({ main: directPool(paths, { pm: { max_children: 1, max_memory: '1MB' } }) }),
  });

  it('recycles a worker whose memory passed the limit after its request, and the next request is served', async () => {
    const s = stack();
    const first = await s.request('/hello?memory-1');
    expect(first.status).toBe(200);
    const recycled = await s.daemon.waitForLog((e) => e.msg === 'worker recycled' && e.reason === 'max_memory', EVENT_TIMEOUT_MS);
    expect(recycled.workerPid).toBe(helloPid(first.text));
    // The old worker leaves once its request is done; its successor accepts from then on.
    await waitUntil('the recycled worker replaced', async () => {
      const now = await poolStatus(controlSocketIn(s.dir), 'main');
      return !now.processes.some((p) => p.pid === helloPid(first.text)) && now.idle === 1 ? true : undefined;
    }, EVENT_TIMEOUT_MS);
    const next = await s.request('/hello?memory-2');
    expect(next.status).toBe(200);
    expect(helloPid(next.text)).not.toBe(helloPid(first.text));
  });
});

describe('a direct handler pool behind nginx with upstream keep-alive', () => {
  const stack = useStack({ keepAlive: true, global: CONTROL_GLOBAL, pools: (paths) => ({ main: directPool(paths) }) });

  it('answers every request with the handler\'s body', async () => {
    const s = stack();
    const result = await runLoad({
      clients: 4, durationMs: 60_000, maxRequestsPerClient: 10,
      send: (c, i) => s.request(`/hello?${c}-${i}`),
      check: (response) => (response.status === 200 && HELLO.test(response.text) ? undefined : `status ${response.status}`),
    });
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(40);
  });

  it('loses no request across a reload: the old workers close their kept-alive connections once idle', async () => {
    await reloadUnderLoad(stack());
  });
});

describe('dispatch = "direct" with exec.worker = "node"', () => {
  it('is a config error naming the file, pool, key, value and why (cgi-fpm check and start)', async () => {
    const tmp = await createTempDir();
    try {
      await mkdir(join(tmp.path, 'cgi-bin'));
      const file = join(tmp.path, 'direct-exec-node.toml');
      await writeConfigFile(file, `[pools.cgi]\nlisten = "${join(tmp.path, 'cgi.sock')}"\nroot = "cgi-bin"\nruntime = "exec"\n"exec.worker" = "node"\npm = "static"\ndispatch = "direct"\n`);
      for (const command of ['check', 'start']) {
        const r = await runCli([command, '-c', file], tmp.path);
        expect(r.code).toBe(78);
        expect(r.stderr).toContain(`${file}: pool "cgi"`);
        expect(r.stderr).toContain('dispatch = "direct" with runtime = "exec" needs the python worker, got exec.worker = "node"');
      }
    } finally {
      await tmp.remove();
    }
  });
});
