// This file implements issue 5's Apache mod_fcgid checks from the perspective of an HTTP client
// talking to a real Apache 2.4 (own config, loopback port) whose mod_fcgid spawns the built
// `cgi-fpm worker --pool NAME -c FILE` itself, one wrapper per pool, each worker accepting on
// the socket mod_fcgid hands it as fd 0. Python, Perl and Node scripts answer through `exec`
// and the persistent runtimes; a persistent runtime keeps its globals across requests in one
// process; workers log into Apache's error log and leave cleanly when Apache stops.
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApache, type Apache } from './helpers/apache.ts';
import {
  APACHE_SCRIPTS,
  apachePools,
  copyApacheFixtures,
  infoFields,
  workerLogLines,
  type ApachePool,
} from './helpers/apache-pools.ts';
import { fcgidSite } from './helpers/apache-sites.ts';
import { writeConfigFile } from './helpers/config-file.ts';
import { isProcessAlive, killQuietly, waitForProcessesGone } from './helpers/processes.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

let tmp: TempDir | undefined;
let apache: Apache | undefined;
let roots: Record<ApachePool, string>;

beforeAll(async () => {
  tmp = await createTempDir('cgi-fpm-fcgid-');
  const dir = await realpath(tmp.path);
  const docRoot = join(dir, 'htdocs');
  roots = await copyApacheFixtures(docRoot);
  // `listen` is required by the config but unused by `cgi-fpm worker`: mod_fcgid owns the socket.
  const unused = {
    exec: join(dir, 'exec.sock'),
    python: join(dir, 'python.sock'),
    node: join(dir, 'node.sock'),
  };
  const configFile = join(dir, 'cgi-fpm.toml');
  await writeConfigFile(configFile, { global: { log_level: 'info' }, pools: apachePools(roots, unused) });
  apache = await startApache({
    dir: join(dir, 'apache'),
    site: fcgidSite(docRoot, roots, configFile),
    fcgid: true,
  });
});

afterAll(async () => {
  await apache?.stop();
  if (process.env.CGI_FPM_IT_KEEP_TMP === undefined) await tmp?.remove();
});

function web(): Apache {
  if (apache === undefined) throw new Error('apache: not started (see the beforeAll error)');
  return apache;
}

async function info(
  path: string,
  options: { method?: string; body?: string } = {},
): Promise<Record<string, string>> {
  const res = await web().request(path, options);
  expect(res.status, `${path}: ${res.text}\n${await web().errorLog()}`).toBe(200);
  return infoFields(res.text);
}

/** The worker log lines in Apache's error log with `msg === msg`. */
async function workerLines(msg: string): Promise<Record<string, unknown>[]> {
  return workerLogLines(await web().errorLog()).filter((l) => l.msg === msg);
}

describe('Apache mod_fcgid spawning `cgi-fpm worker --pool NAME` on fd 0', () => {
  it.each(APACHE_SCRIPTS)('pool %s runs %s (%s)', async (pool, script, language) => {
    const fields = await info(`/${pool}/${script}?a=1`);
    expect(fields).toMatchObject({
      language,
      REQUEST_METHOD: 'GET',
      QUERY_STRING: 'a=1',
      SCRIPT_FILENAME: join(roots[pool], script),
      SCRIPT_NAME: `/${pool}/${script}`,
      PATH_INFO: '',
    });
  });

  it.each(APACHE_SCRIPTS)('pool %s, %s: PATH_INFO after the script reaches it', async (pool, script) => {
    const fields = await info(`/${pool}/${script}/extra/path`);
    expect(fields).toMatchObject({
      PATH_INFO: '/extra/path',
      SCRIPT_NAME: `/${pool}/${script}`,
      SCRIPT_FILENAME: join(roots[pool], script),
    });
  });

  it.each(APACHE_SCRIPTS)('pool %s, %s: a POST body reaches the script', async (pool, script) => {
    const fields = await info(`/${pool}/${script}`, { method: 'POST', body: `name=fcgid&pool=${pool}` });
    expect(fields).toMatchObject({ REQUEST_METHOD: 'POST', body: `name=fcgid&pool=${pool}` });
  });

  it.each([
    ['python', 'info.py'],
    ['node', 'info.js'],
  ] as const)(
    'the %s runtime is persistent under mod_fcgid: one process, globals kept across requests',
    async (pool, script) => {
      const runs = [
        await info(`/${pool}/${script}`),
        await info(`/${pool}/${script}`),
        await info(`/${pool}/${script}`),
      ];
      expect(new Set(runs.map((r) => r.pid)).size).toBe(1);
      const counters = runs.map((r) => Number(r.counter));
      expect(counters).toEqual([counters[0], (counters[0] ?? 0) + 1, (counters[0] ?? 0) + 2]);
      const exec = [await info(`/exec/${script}`), await info(`/exec/${script}`)];
      expect(exec.map((r) => r.counter)).toEqual(['1', '1']);
    },
  );

  it('one worker per pool: each logged "worker ready" once, with its runtime, and served its requests', async () => {
    const ready = await workerLines('worker ready');
    expect(ready.map((l) => [l.pool, l.runtime]).sort()).toEqual([
      ['exec', 'exec'],
      ['node', 'node'],
      ['python', 'python'],
    ]);
    const requests = await workerLines('request');
    for (const line of ready) {
      const own = requests.filter((r) => r.pid === line.pid);
      expect(own.length, `requests of ${String(line.pool)}`).toBeGreaterThan(0);
      expect(own.every((r) => r.pool === line.pool)).toBe(true);
    }
  });

  it('a missing script is answered 404 by the worker, which logs "script not found"', async () => {
    const res = await web().request('/python/missing.py');
    expect(res.status).toBe(404);
    expect(res.text).toContain('cgi-fpm');
    await waitUntil(
      'script not found logged',
      async () =>
        (await workerLines('script not found')).some((l) => l.script === join(roots.python, 'missing.py')),
      EVENT_TIMEOUT_MS,
    );
  });

  it('Apache stopping (SIGTERM to its PID) stops every worker: "worker stopping", exit 0, none left', async () => {
    const pids = (await workerLines('worker ready')).map((l) => Number(l.pid));
    expect(pids).toHaveLength(3);
    expect(pids.every(isProcessAlive)).toBe(true);
    try {
      expect(await web().stop()).toBe(0);
      await waitForProcessesGone(pids, undefined, EVENT_TIMEOUT_MS);
    } finally {
      for (const pid of pids) killQuietly(pid, 'SIGKILL');
    }
    const stopping = await workerLines('worker stopping');
    expect(stopping.map((l) => Number(l.pid)).sort()).toEqual([...pids].sort());
    const log = await web().errorLog();
    for (const pid of pids)
      expect(log).toMatch(new RegExp(`\\(${pid}\\) exit\\(shutting down\\).*return code: 0`));
  });
});
