// This file implements `dispatch = "direct"` for `runtime = "exec"` pools from the perspective
// of HTTP clients behind a real nginx and of the operator: the python workers accept on the
// pool's socket themselves and start each CGI script with posix_spawn, the supervisor out of the
// request path; the worker resolves scripts as the supervisor's router does (PATH_INFO split,
// 403/404); bodies stream both ways; request_terminate_timeout answers 504 and kills the
// script's group; a worker killed while its script runs takes the script's group with it (the
// supervisor kills the group the worker named); pm.max_requests recycles; a reload loses no
// request.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlSocketIn, CONTROL_GLOBAL, poolStatus } from './helpers/control.ts';
import { reloadUnderLoad } from './helpers/direct-reload.ts';
import type { TomlDocument } from './helpers/config-file.ts';
import { isProcessAlive, killQuietly, waitForProcessesGone } from './helpers/processes.ts';
import { writeScript } from './helpers/scripts.ts';
import { defaultPool, type Stack, type StackOptions, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

/** The `main` pool: the committed exec fixtures, two python workers accepting themselves. */
function directPool(paths: { root: string; fastcgiSocket: string }, extra: TomlDocument = {}): TomlDocument {
  return {
    ...defaultPool(paths.root, paths.fastcgiSocket),
    runtime: 'exec', dispatch: 'direct', pm: { max_children: 2 }, request_terminate_timeout: '2s', 'ping.path': '/ping',
    ...extra,
  };
}

/** The stack, with `ppid.sh` (its parent is the worker that spawned it) in the root. */
function directStack(extra: TomlDocument = {}): StackOptions {
  return {
    global: CONTROL_GLOBAL,
    pools: async (paths: StackPaths) => {
      await writeScript(paths.root, 'ppid.sh', "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nworker=%s\\n' \"$PPID\"\n");
      return { main: directPool(paths, extra) };
    },
  };
}

const WORKER = /^worker=(\d+)\n$/;

function workerOf(text: string): number {
  const pid = WORKER.exec(text)?.[1];
  if (pid === undefined) throw new Error(`not a ppid answer: ${JSON.stringify(text)}`);
  return Number(pid);
}

/** [script pid, `sleep 300` pid] from sleep-past-timeout.sh's `<token>.pids`. */
async function sleeperPids(root: string, token: string): Promise<[number, number]> {
  return waitUntil(`${token}.pids written`, async () => {
    const [script, child] = (await readFile(join(root, `${token}.pids`), 'utf8').catch(() => '')).trim().split(' ').map(Number);
    return script !== undefined && child !== undefined && script > 0 && child > 0 ? [script, child] as [number, number] : undefined;
  }, EVENT_TIMEOUT_MS);
}

describe('a direct exec pool behind nginx', () => {
  const stack = useStack(directStack());

  it('answers from its python workers, which spawn each script, and logs the pool as direct', async () => {
    const s = stack();
    const listening = s.daemon.logs.find((e) => e.msg === 'listening' && Array.isArray(e.pools) && e.pools.includes('main'));
    expect(listening?.dispatch).toBe('direct');
    const status = await poolStatus(controlSocketIn(s.dir), 'main');
    for (let i = 0; i < 12; i++) {
      const response = await s.request(`/ppid.sh?${i}`);
      expect(response.status).toBe(200);
      expect(status.processes.map((p) => p.pid)).toContain(workerOf(response.text));
    }
    expect((await s.request('/hello.sh')).text).toBe('hello\n');
  });

  it('streams a 2 MiB body to the script and its echo back', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    const response = await stack().request('/echo-body.sh', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(200);
    expect(createHash('sha256').update(response.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('splits PATH_INFO and answers 404 and 403 in the worker, as the router does', async () => {
    const s = stack();
    const pathInfo = await s.request('/path-info.sh/extra/segments.html');
    expect(pathInfo.status).toBe(200);
    expect(pathInfo.text).toBe('PATH_INFO=/extra/segments.html\nSCRIPT_NAME=/path-info.sh\n');
    const since = s.daemon.logs.length;
    expect((await s.request('/missing.sh')).status).toBe(404);
    expect((await s.request('/notexec.py')).status).toBe(403);
    await s.daemon.waitForLog((e) => e.msg === 'script refused' && String(e.reason).startsWith('not executable'), EVENT_TIMEOUT_MS, since);
  });

  it('answers ping.path in the worker', async () => {
    const response = await stack().request('/ping');
    expect([response.status, response.text]).toEqual([200, 'pong']);
  });

  it('answers 504 at request_terminate_timeout and kills the script\'s process group', async () => {
    const s = stack();
    const response = s.request('/sleep-past-timeout.sh?direct1', { timeoutMs: EVENT_TIMEOUT_MS });
    const [script, child] = await sleeperPids(s.root, 'direct1');
    expect((await response).status).toBe(504);
    await waitForProcessesGone([script, child], script, EVENT_TIMEOUT_MS);
  });

  it('a worker killed while its script runs takes the script\'s process group with it', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const before = await poolStatus(control, 'main');
    const response = s.request('/sleep-past-timeout.sh?direct2', { timeoutMs: EVENT_TIMEOUT_MS });
    const [script, child] = await sleeperPids(s.root, 'direct2');
    const worker = (await readFile(`/proc/${script}/stat`, 'latin1')).split(') ')[1]?.split(' ')[1];
    expect(before.processes.map((p) => String(p.pid))).toContain(worker);
    killQuietly(Number(worker), 'SIGKILL');
    expect((await response).status).toBe(502);
    await waitForProcessesGone([script, child], script, EVENT_TIMEOUT_MS);
    await waitUntil('the killed worker replaced', async () => {
      const now = await poolStatus(control, 'main');
      return now.idle === 2 && !now.processes.some((p) => String(p.pid) === worker) ? true : undefined;
    }, EVENT_TIMEOUT_MS);
    expect(isProcessAlive(child)).toBe(false);
    expect((await s.request('/hello.sh')).status).toBe(200);
  });

  it('loses no request across a reload that replaces the workers', async () => {
    const s = stack();
    await reloadUnderLoad(s, {
      pool: 'main', path: (c, i) => `/ppid.sh?${c}-${i}`, ok: (response) => WORKER.test(response.text),
      pools: { main: directPool(s, { request_terminate_timeout: '3s' }) },
    });
  });
});

describe('pm.max_requests in a direct exec pool', () => {
  const stack = useStack(directStack({ pm: { max_children: 1, max_requests: 4 } }));

  it('recycles a worker after its requests, and a new one serves the next', async () => {
    const s: Stack = stack();
    const workers: number[] = [];
    for (let i = 0; i < 10; i++) {
      const response = await s.request(`/ppid.sh?recycle-${i}`);
      expect(response.status).toBe(200);
      workers.push(workerOf(response.text));
    }
    expect(new Set(workers).size).toBe(3);
    expect(workers.slice(0, 4).every((p) => p === workers[0])).toBe(true);
  });
});
