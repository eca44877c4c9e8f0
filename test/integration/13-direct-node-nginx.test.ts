// This file implements `dispatch = "direct"` for `runtime = "node"` pools from the perspective of
// HTTP clients behind a real nginx: unmodified CGI scripts answer from workers that accept on the
// pool's socket themselves (the supervisor out of the request path), one request at a time per
// worker with the others waiting in it; the state policies still hold between requests; a
// connection accepted while an asynchronous script runs neither holds that script open nor is
// lost; the heartbeat counts requests; request_terminate_timeout answers 504 for a script that
// never ends and kills a worker whose event loop is blocked (502); pm.max_requests recycles; a
// reload loses no request, with and without nginx's upstream keep-alive.
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeStack, type NodePool } from './3-node-stack.ts';
import { CONTROL_GLOBAL, controlSocketIn, heartbeatCounted, poolStatus, type PoolStatus } from './helpers/control.ts';
import { reloadUnderLoad } from './helpers/direct-reload.ts';
import type { TomlDocument } from './helpers/config-file.ts';
import { runLoad } from './helpers/load.ts';
import { defaultPool, type Stack, type StackOptions } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

/** The keys of a direct node pool of two workers, over `extra`. */
function directKeys(extra: TomlDocument = {}): TomlDocument {
  return { dispatch: 'direct', pm: { max_children: 2 }, request_terminate_timeout: '3s', 'ping.path': '/ping', ...extra };
}

/** Scripts of this suite, beside the committed node fixtures in the pool's root. */
const SCRIPTS: Record<string, string> = {
  'pid.js': "process.stdout.write(`Content-Type: text/plain\\r\\n\\r\\npid=${process.pid} q=${process.env.QUERY_STRING}\\n`);\n",
  // Writes its head first, then reads the whole body and echoes it (git-http-backend's order).
  'echo-late.js': "process.stdout.write('Content-Type: application/octet-stream\\r\\n\\r\\n');\nprocess.stdin.pipe(process.stdout);\n",
  'spin.js': "process.stdout.write('Content-Type: text/plain\\r\\n\\r\\n');\nfor (;;) { /* blocks the event loop */ }\n",
};

/** `nodeStack` with one direct pool `node` and this suite's scripts written into its root. */
function directStack(pool: NodePool, keepAlive = false): StackOptions {
  const base = nodeStack([pool]);
  return {
    keepAlive,
    global: CONTROL_GLOBAL,
    pools: async (paths) => {
      const pools = await base.pools?.(paths) ?? {};
      for (const [name, text] of Object.entries(SCRIPTS)) await writeFile(join(paths.root, pool.name, name), text, { mode: 0o755 });
      return pools;
    },
  };
}

const PID = /^pid=(\d+) q=(.*)\n$/;

function pidOf(text: string): number {
  const pid = PID.exec(text)?.[1];
  if (pid === undefined) throw new Error(`not a pid answer: ${JSON.stringify(text)}`);
  return Number(pid);
}

/** Mixed load: an asynchronous script (a 10 ms timer) and a synchronous one, every answer checked. */
async function mixedLoad(s: Stack, clients: number, perClient: number): Promise<void> {
  const result = await runLoad({
    clients, durationMs: 60_000, maxRequestsPerClient: perClient,
    send: (c, i) => s.request(i % 2 === 0 ? '/node/timer.js' : `/node/pid.js?${c}-${i}`),
    check: (response, c, i) => {
      if (response.status !== 200) return `status ${response.status}`;
      if (i % 2 === 0) return response.text === 'now\nafter 10 ms\n' ? undefined : `timer ${JSON.stringify(response.text)}`;
      return PID.exec(response.text)?.[2] === `${c}-${i}` ? undefined : `pid ${JSON.stringify(response.text)}`;
    },
  });
  expect(result.failures).toEqual([]);
  expect(result.ok).toBe(clients * perClient);
}

describe('a direct node pool behind nginx (no upstream keep-alive)', () => {
  const stack = useStack(directStack({ name: 'node', keys: directKeys() }));

  it('answers with the script\'s environment and body, from the pool\'s workers, and logs the pool as direct', async () => {
    const s = stack();
    const listening = s.daemon.logs.find((e) => e.msg === 'listening' && Array.isArray(e.pools) && e.pools.includes('node'));
    expect(listening?.dispatch).toBe('direct');
    const post = await s.request('/node/hello.js?x=1', { method: 'POST', body: Buffer.from('abc') });
    expect(post.status).toBe(200);
    expect(JSON.parse(post.text)).toMatchObject({ method: 'POST', query: 'x=1', scriptName: '/node/hello.js', bodyBytes: 3 });
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const response = await s.request(`/node/pid.js?${i}`);
      expect(response.status).toBe(200);
      pids.add(pidOf(response.text));
    }
    const status = await poolStatus(controlSocketIn(s.dir), 'node');
    expect([...pids].every((pid) => status.processes.some((p) => p.pid === pid))).toBe(true);
  });

  it('streams a 2 MiB body to a script that wrote its head first, and its echo back', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    const response = await stack().request('/node/echo-late.js', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(200);
    expect(createHash('sha256').update(response.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('resets the state between requests as a relayed pool does (globals, environment)', async () => {
    const s = stack();
    for (let i = 0; i < 4; i++) {
      expect((await s.request('/node/globals.js')).text).toBe('counter=1\n');
      expect((await s.request(`/node/env-leak.js?${i}`)).text).toBe('before=(unset)\n');
    }
  });

  it('answers every request of concurrent clients while asynchronous scripts run (connections wait in the worker)', async () => {
    await mixedLoad(stack(), 8, 12);
  });

  it('answers ping.path in the worker', async () => {
    const response = await stack().request('/ping');
    expect([response.status, response.text]).toEqual([200, 'pong']);
  });

  it('answers 404 and 403 from the worker\'s own script resolution', async () => {
    const s = stack();
    expect((await s.request('/node/missing.js')).status).toBe(404);
    await writeFile(join(s.root, 'node', 'notes.txt'), 'not a script\n');
    expect((await s.request('/node/notes.txt')).status).toBe(403);
  });

  it('answers 504 at request_terminate_timeout for a script that never ends, and serves the next request', async () => {
    const s = stack();
    const response = await s.request('/node/forever.js', { timeoutMs: EVENT_TIMEOUT_MS });
    expect(response.status).toBe(504);
    expect((await s.request('/node/pid.js?after-forever')).status).toBe(200);
  });

  it('kills a worker whose script blocks its event loop (502) and replaces it', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const before = await poolStatus(control, 'node');
    const since = s.daemon.logs.length;
    const response = await s.request('/node/spin.js', { timeoutMs: EVENT_TIMEOUT_MS });
    expect(response.status).toBe(502);
    const line = await s.daemon.waitForLog((e) => typeof e.msg === 'string' && e.msg.startsWith('direct: '), EVENT_TIMEOUT_MS, since);
    expect(line.pool).toBe('node');
    await waitUntil('a new worker replaced the killed one', async () => {
      const now = await poolStatus(control, 'node');
      return now.killed === before.killed + 1 && now.idle === 2 ? now : undefined;
    }, EVENT_TIMEOUT_MS);
    expect((await s.request('/node/pid.js?after-spin')).status).toBe(200);
  });

  it('loses no request across a reload that replaces the workers', async () => {
    const s = stack();
    await reloadUnderLoad(s, {
      pool: 'node', path: (c, i) => `/node/pid.js?${c}-${i}`, ok: (response) => PID.test(response.text),
      pools: { node: { ...currentPool(s), request_terminate_timeout: '4s' } },
    });
  });
});

describe('the heartbeat of a direct node pool', () => {
  const stack = useStack(directStack({ name: 'node', keys: directKeys() }));

  it('counts each worker\'s requests and accepted conn from the heartbeat', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    // The first test of this stack: nothing was sent before, so the totals to wait for are known
    // (no upstream keep-alive: one connection each).
    const counted = (total: number): Promise<PoolStatus> => heartbeatCounted(control, 'node', total);
    const sent = 12;
    for (let i = 0; i < sent; i++) expect((await s.request(`/node/pid.js?count-${i}`)).status).toBe(200);
    const after = await counted(sent);
    expect(after.accepted).toBeGreaterThanOrEqual(sent);
    expect(after.idle + after.busy).toBe(2);
  });
});

describe('pm.max_requests in a direct node pool', () => {
  const stack = useStack(directStack({ name: 'node', keys: directKeys({ pm: { max_children: 1, max_requests: 5 } }) }));

  it('recycles a worker after its requests, and a new one serves the next', async () => {
    const s = stack();
    const pids: number[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await s.request(`/node/pid.js?recycle-${i}`);
      expect(response.status).toBe(200);
      pids.push(pidOf(response.text));
    }
    expect(new Set(pids).size).toBe(3);
    expect(pids.slice(0, 5).every((p) => p === pids[0])).toBe(true);
  });
});

describe('a direct node pool behind nginx with upstream keep-alive', () => {
  const stack = useStack(directStack({ name: 'node', keys: directKeys() }, true));

  it('answers every request of concurrent clients on kept-alive connections', async () => {
    await mixedLoad(stack(), 8, 12);
  });

  it('resets the state between requests of one kept-alive connection', async () => {
    const s = stack();
    for (let i = 0; i < 6; i++) expect((await s.request('/node/globals.js')).text).toBe('counter=1\n');
  });

  it('loses no request across a reload: the old workers close their kept-alive connections once idle', async () => {
    const s = stack();
    await reloadUnderLoad(s, {
      pool: 'node', path: (c, i) => `/node/pid.js?${c}-${i}`, ok: (response) => PID.test(response.text),
      pools: { node: { ...currentPool(s), request_terminate_timeout: '4s' } },
    });
  });
});

/** The pool `node` as {@link directStack} configured it (the reload changes one key of it). */
function currentPool(s: Stack): TomlDocument {
  return { ...defaultPool(join(s.root, 'node'), s.fastcgiSocket), runtime: 'node', match: ['*.js'], ...directKeys() };
}
