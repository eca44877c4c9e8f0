// This file implements issue 13's direct accept for python pools from the perspective of HTTP
// clients behind a real nginx, of a raw FastCGI client on the pool's socket, and of the
// operator: a `dispatch = "direct"` python pool's workers accept on the pool's socket
// themselves (the python worker, no supervisor hop), resolve scripts with the router's rules
// and refusals (403/404 and its log events, from the worker), run them in the runner with its
// state reset, answer ping.path, count for the heartbeat, answer 504 at
// request_terminate_timeout, recycle at pm.max_requests, lose no request across a reload (with
// and without nginx keep-alive), keep accepting while a kept-alive connection is idle, shrug
// off a connection that sends garbage, and never let a script reach the listening socket.
import { randomBytes, createHash } from 'node:crypto';
import { chmod, cp, mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { createTempDir } from './helpers/temp-dir.ts';
import { writeConfigFile, type TomlDocument } from './helpers/config-file.ts';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus, type PoolStatus } from './helpers/control.ts';
import { fcgiRequest, openRawConnection } from './helpers/fastcgi-client.ts';
import { encodeRequest, FCGI, RecordReader } from './helpers/fastcgi-wire.ts';
import { runLoad } from './helpers/load.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { defaultPool, type Stack, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const FIXTURES = `${REPO_ROOT}/test/integration/fixtures`;

/** The python fixtures (who.py, body.py, fds.py; hello.py, the counters, forever.py) in the stack's root. */
async function pythonDirectPool(paths: StackPaths, extra: TomlDocument = {}): Promise<TomlDocument> {
  for (const dir of ['python', 'python-direct']) await cp(join(FIXTURES, dir), paths.root, { recursive: true });
  for (const name of ['who.py', 'body.py', 'fds.py', 'hello.py', 'globals_counter.py', 'counter.py', 'forever.py']) {
    await chmod(join(paths.root, name), 0o755);
  }
  return directPool(paths, extra);
}

function directPool(paths: StackPaths, extra: TomlDocument = {}): TomlDocument {
  return {
    ...defaultPool(paths.root, paths.fastcgiSocket),
    runtime: 'python', match: ['*.py'], pm: { max_children: 2 }, dispatch: 'direct',
    request_terminate_timeout: '3s', 'ping.path': '/ping',
    ...extra,
  };
}

/** `name=value` lines of a text body. */
function fields(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

function workerOf(text: string): number {
  const pid = Number(fields(text).worker);
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`not a who.py answer: ${JSON.stringify(text)}`);
  return pid;
}

const servedTotal = (pool: PoolStatus): number => pool.processes.reduce((n, p) => n + p.requests, 0);

/** The `request` lines the pool's workers logged (not the supervisor's). */
function workerRequestLines(s: Stack): Record<string, unknown>[] {
  return s.daemon.logs.filter((e) => e.msg === 'request' && e.pid !== s.daemon.pid && e.pool === 'main');
}

/** A POST with `Transfer-Encoding: chunked` to nginx (which buffers it and sends CONTENT_LENGTH). */
function chunkedPost(s: Stack, path: string, chunks: readonly Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(join(s.dir, 'http.sock'));
    const received: Buffer[] = [];
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('chunked POST: no answer in time')); }, EVENT_TIMEOUT_MS);
    socket.on('data', (b: Buffer) => received.push(b));
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(received).toString('latin1')); });
    socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
    for (const chunk of chunks) socket.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
    socket.write('0\r\n\r\n');
  });
}

/** Reloads with a changed pool (new workers) under a bounded load: no request may fail. */
async function reloadUnderLoad(s: Stack): Promise<void> {
  const control = controlSocketIn(s.dir);
  const oldPids = (await poolStatus(control, 'main')).processes.map((p) => p.pid);
  let loading = true;
  let answered = 0;
  const load = runLoad({
    clients: 4, durationMs: 90_000, more: () => loading,
    send: (c, i) => s.request(`/who.py?${c}-${i}`),
    check: (response) => {
      if (response.status !== 200 || !/^worker=\d+$/m.test(response.text)) return `status ${response.status} ${JSON.stringify(response.text.slice(0, 100))}`;
      answered += 1;
      return undefined;
    },
  });
  const reload = (async () => {
    await waitUntil('load running', () => answered >= 20, EVENT_TIMEOUT_MS, 10);
    await writeConfigFile(s.daemon.configFile, {
      global: { log_level: 'info', ...CONTROL_GLOBAL }, pools: { main: directPool(s, { request_terminate_timeout: '4s' }) },
    });
    const since = s.daemon.logs.length;
    process.kill(s.daemon.pid, 'SIGHUP');
    const done = await s.daemon.waitForLog((e) => e.msg === 'reloaded' || e.msg === 'reload refused, keeping the running config', EVENT_TIMEOUT_MS, since);
    expect(done.msg).toBe('reloaded');
    await waitUntil('old workers gone', async () => {
      const now = await poolStatus(control, 'main');
      return now.processes.every((p) => !oldPids.includes(p.pid)) ? true : undefined;
    }, EVENT_TIMEOUT_MS);
    const mark = answered;
    await waitUntil('more answers after the reload', () => answered >= mark + 20, EVENT_TIMEOUT_MS, 10);
  })().finally(() => { loading = false; });
  const [result] = await Promise.all([load, reload]);
  if (result.failures.length > 0) console.log('the daemon log, at the failure:\n', s.daemon.logs.filter((e) => e.msg !== 'request').map((e) => JSON.stringify(e)).join('\n'));
  expect(result.failures).toEqual([]);
  expect(result.ok).toBeGreaterThan(40);
}

describe('a direct python pool behind nginx (no upstream keep-alive)', () => {
  const stack = useStack({ global: CONTROL_GLOBAL, pools: async (paths) => ({ main: await pythonDirectPool(paths) }) });

  it('counts accepted conn and each worker\'s requests from the heartbeat', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    // The first test of this stack: nothing was sent before.
    const counted = async (total: number): Promise<PoolStatus> => waitUntil(`the heartbeat counted ${total} requests`, async () => {
      const now = await poolStatus(control, 'main');
      return servedTotal(now) === total ? now : undefined;
    }, EVENT_TIMEOUT_MS);
    const before = await counted(0);
    expect(before.accepted).toBe(0);
    const sent = 12;
    for (let i = 0; i < sent; i++) expect((await s.request(`/who.py?count-${i}`)).status).toBe(200);
    const after = await counted(sent);
    // No upstream keep-alive: one connection per request.
    expect(after.accepted).toBe(sent);
    await waitUntil('one request line per request, from the workers', () => (workerRequestLines(s).length === sent ? true : undefined), EVENT_TIMEOUT_MS);
    expect(after).toMatchObject({ pm: 'static', runtime: 'python', maxChildren: 2 });
    expect(after.idle + after.busy).toBe(2);
    expect(after.processes.length).toBe(2);
  });

  it('answers from both workers, and the log shows the pool in direct mode', async () => {
    const s = stack();
    const listening = s.daemon.logs.find((e) => e.msg === 'listening' && Array.isArray(e.pools) && e.pools.includes('main'));
    expect(listening?.dispatch).toBe('direct');
    const workers = new Set<number>();
    for (let i = 0; i < 200 && workers.size < 2; i++) {
      const response = await s.request(`/who.py?${i}`);
      expect(response.status).toBe(200);
      workers.add(workerOf(response.text));
    }
    const status = await poolStatus(controlSocketIn(s.dir), 'main');
    expect(workers.size).toBe(2);
    expect([...workers].every((pid) => status.processes.some((p) => p.pid === pid))).toBe(true);
  });

  it('runs GET with a query and PATH_INFO with the params the relay would set', async () => {
    const s = stack();
    const response = await s.request('/who.py/extra/path?a=1&b=two');
    expect(response.status).toBe(200);
    const f = fields(response.text);
    expect(f).toMatchObject({
      REQUEST_METHOD: 'GET', QUERY_STRING: 'a=1&b=two', SCRIPT_NAME: '/who.py', PATH_INFO: '/extra/path',
      SCRIPT_FILENAME: join(s.root, 'who.py'),
    });
  });

  it('passes a large POST body, and a chunked one through nginx, whole', async () => {
    const s = stack();
    const body = randomBytes(3 * 1024 * 1024);
    const response = await s.request('/body.py', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(200);
    expect(fields(response.text)).toMatchObject({
      contentLength: String(body.length), received: String(body.length), sha256: createHash('sha256').update(body).digest('hex'),
    });
    const chunks = Array.from({ length: 40 }, () => randomBytes(25_000));
    const raw = await chunkedPost(s, '/body.py', chunks);
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    expect(raw).toContain(`received=${40 * 25_000}`);
    expect(raw).toContain(`sha256=${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`);
  });

  it('keeps the runner\'s state reset between requests', async () => {
    const s = stack();
    for (let i = 0; i < 4; i++) {
      expect((await s.request('/globals_counter.py')).text).toContain('globals counter=1');
      expect((await s.request('/counter.py')).text).toContain('module counter=1');
    }
  });

  it('answers 403 (outside root, not matched) and 404 (missing) in the worker, with the router\'s log events', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const cases = [
      { path: '/escape.py', status: 403, event: 'script refused', reason: /outside root/ },
      { path: '/readme.txt', status: 403, event: 'script refused', reason: /match/ },
      { path: '/missing.py', status: 404, event: 'script not found', reason: /no such file/ },
    ];
    for (const c of cases) {
      const response = await s.request(c.path);
      expect(response.status).toBe(c.status);
      const line = await s.daemon.waitForLog((e) => e.msg === c.event && typeof e.script === 'string' && e.script.endsWith(c.path), EVENT_TIMEOUT_MS, since);
      expect(line.pid).not.toBe(s.daemon.pid);
      expect(line.pool).toBe('main');
      expect(String(line.reason)).toMatch(c.reason);
      const request = await s.daemon.waitForLog((e) => e.msg === 'request' && typeof e.script === 'string' && e.script.endsWith(c.path), EVENT_TIMEOUT_MS, since);
      expect(request.status).toBe(c.status);
    }
    const evil = await s.request('/escape.py');
    expect(evil.text).not.toContain('evil');
  });

  it('answers ping.path in the worker', async () => {
    const response = await stack().request('/ping');
    expect([response.status, response.text]).toEqual([200, 'pong']);
  });

  it('attack: a script finds neither the listening socket nor a web server connection among its descriptors', async () => {
    const s = stack();
    for (let i = 0; i < 4; i++) {
      const response = await s.request('/fds.py');
      expect(response.status).toBe(200);
      const fds = JSON.parse(response.text) as Record<string, { target: string; name?: string; listening?: boolean }>;
      for (const entry of Object.values(fds)) {
        expect(entry.listening ?? false).toBe(false);
        expect(entry.name ?? '').not.toContain(s.fastcgiSocket);
      }
    }
  });

  it('closes a connection that sends garbage, logs it, and serves the next request', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const conn = await openRawConnection(s.fastcgiSocket);
    await conn.write(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
    await conn.closed;
    const line = await s.daemon.waitForLog((e) => e.msg === 'protocol error', EVENT_TIMEOUT_MS, since);
    expect(line.pid).not.toBe(s.daemon.pid);
    // A connection that stops half-way through a record, then goes.
    const half = await openRawConnection(s.fastcgiSocket);
    await half.write(encodeRequest(1, [['SCRIPT_FILENAME', join(s.root, 'who.py')]], Buffer.alloc(0), false).subarray(0, 13));
    half.destroy();
    for (let i = 0; i < 4; i++) expect((await s.request(`/who.py?after-garbage-${i}`)).status).toBe(200);
  });

  it('answers 504 at request_terminate_timeout, and the next request is served', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const response = await s.request('/forever.py', { timeoutMs: EVENT_TIMEOUT_MS });
    expect(response.status).toBe(504);
    const line = await s.daemon.waitForLog((e) => e.msg === 'request timeout', EVENT_TIMEOUT_MS, since);
    expect(line.pid).not.toBe(s.daemon.pid);
    for (let i = 0; i < 4; i++) expect((await s.request(`/who.py?after-timeout-${i}`)).status).toBe(200);
  });

  it('loses no request across a reload that replaces the workers', async () => {
    await reloadUnderLoad(stack());
  });
});

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
    await reloadUnderLoad(stack());
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
