// This file implements issue 13's direct accept for python pools from the perspective of HTTP
// clients behind a real nginx, of a raw FastCGI client on the pool's socket, and of the
// operator: a `dispatch = "direct"` python pool's workers accept on the pool's socket
// themselves (the python worker, no supervisor hop), resolve scripts with the router's rules
// and refusals (403/404 and its log events, from the worker), run them in the runner with its
// state reset, answer ping.path, count for the heartbeat, answer 504 at
// request_terminate_timeout, lose no request across a reload, shrug off a connection that
// sends garbage, and never let a script reach the listening socket (keep-alive, recycling and
// config errors: 13-direct-python-lifecycle.test.ts).
import { randomBytes, createHash } from 'node:crypto';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, heartbeatCounted, poolStatus, type PoolStatus } from './helpers/control.ts';
import { openRawConnection } from './helpers/fastcgi-client.ts';
import { encodeRequest } from './helpers/fastcgi-wire.ts';
import { fields, pythonDirectPool, reloadPythonDirect, workerOf } from './helpers/python-direct.ts';
import type { Stack } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

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

describe('a direct python pool behind nginx (no upstream keep-alive)', () => {
  const stack = useStack({ global: CONTROL_GLOBAL, pools: async (paths) => ({ main: await pythonDirectPool(paths) }) });

  it('counts accepted conn and each worker\'s requests from the heartbeat', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    // The first test of this stack: nothing was sent before.
    const counted = (total: number): Promise<PoolStatus> => heartbeatCounted(control, 'main', total);
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
    await reloadPythonDirect(stack());
  });
});
