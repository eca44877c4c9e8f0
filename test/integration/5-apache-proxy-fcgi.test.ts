// This file implements issue 5's Apache mod_proxy_fcgi checks from the perspective of an HTTP
// client talking to a real Apache 2.4 (own config, loopback port) in front of the built cgi-fpm
// (exec, python and node pools on unix sockets), configured both ways operators do it:
// `SetHandler "proxy:unix:…|fcgi://localhost"` and `ProxyPassMatch`. Python, Perl and Node
// scripts answer through `exec` and the persistent runtimes; Apache's `proxy:fcgi://` prefix on
// SCRIPT_FILENAME is stripped, PATH_INFO reaches the script, and so does a POST body.
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApache, type Apache } from './helpers/apache.ts';
import {
  APACHE_SCRIPTS,
  apachePools,
  copyApacheFixtures,
  infoFields,
  type ApachePool,
} from './helpers/apache-pools.ts';
import { proxyFcgiSite } from './helpers/apache-sites.ts';
import { startDaemon, type Daemon } from './helpers/daemon.ts';
import { waitForRequestLog } from './helpers/logs.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

let tmp: TempDir | undefined;
let daemon: Daemon | undefined;
let apache: Apache | undefined;
let roots: Record<ApachePool, string>;

beforeAll(async () => {
  tmp = await createTempDir('cgi-fpm-apx-');
  const dir = await realpath(tmp.path);
  const docRoot = join(dir, 'htdocs');
  roots = await copyApacheFixtures(docRoot);
  const sockets = {
    exec: join(dir, 'exec.sock'),
    python: join(dir, 'python.sock'),
    node: join(dir, 'node.sock'),
  };
  daemon = await startDaemon({
    dir,
    config: { global: { log_level: 'info' }, pools: apachePools(roots, sockets) },
  });
  apache = await startApache({ dir: join(dir, 'apache'), site: proxyFcgiSite(docRoot, roots, sockets) });
});

afterAll(async () => {
  await apache?.stop();
  await daemon?.stop();
  if (process.env.CGI_FPM_IT_KEEP_TMP === undefined) await tmp?.remove();
});

function web(): Apache {
  if (apache === undefined) throw new Error('apache: not started (see the beforeAll error)');
  return apache;
}

function fpm(): Daemon {
  if (daemon === undefined) throw new Error('daemon: not started (see the beforeAll error)');
  return daemon;
}

async function info(
  path: string,
  options: { method?: string; body?: string } = {},
): Promise<Record<string, string>> {
  const res = await web().request(path, options);
  expect(res.status, `${path}: ${res.text}\n${await web().errorLog()}`).toBe(200);
  return infoFields(res.text);
}

describe('Apache mod_proxy_fcgi: SetHandler "proxy:unix:…|fcgi://localhost"', () => {
  it.each(APACHE_SCRIPTS)(
    'pool %s runs %s (%s) with the Apache prefix stripped off SCRIPT_FILENAME',
    async (pool, script, language) => {
      const since = fpm().logs.length;
      const fields = await info(`/${pool}/${script}?a=1&b=2`);
      expect(fields).toMatchObject({
        language,
        REQUEST_METHOD: 'GET',
        QUERY_STRING: 'a=1&b=2',
        SCRIPT_FILENAME: join(roots[pool], script),
        SCRIPT_NAME: `/${pool}/${script}`,
        PATH_INFO: '',
      });
      const line = await waitForRequestLog(fpm(), script, since);
      expect(line).toMatchObject({ pool, status: 200, script: join(roots[pool], script) });
    },
  );

  it.each(APACHE_SCRIPTS)('pool %s, %s: PATH_INFO after the script reaches it', async (pool, script) => {
    const fields = await info(`/${pool}/${script}/extra/path%20x`);
    expect(fields).toMatchObject({
      PATH_INFO: '/extra/path x',
      SCRIPT_NAME: `/${pool}/${script}`,
      SCRIPT_FILENAME: join(roots[pool], script),
    });
  });

  it.each(APACHE_SCRIPTS)('pool %s, %s: a POST body reaches the script', async (pool, script) => {
    const fields = await info(`/${pool}/${script}`, {
      method: 'POST',
      body: `title=Hello+${pool}&n=${script}`,
    });
    expect(fields).toMatchObject({ REQUEST_METHOD: 'POST', body: `title=Hello+${pool}&n=${script}` });
  });

  it.each([
    ['python', 'info.py'],
    ['node', 'info.js'],
  ] as const)(
    'the %s runtime is persistent: one process, globals kept across requests',
    async (pool, script) => {
      const first = await info(`/${pool}/${script}`);
      const second = await info(`/${pool}/${script}`);
      expect(second.pid).toBe(first.pid);
      expect(Number(second.counter)).toBe(Number(first.counter) + 1);
      const exec = [await info(`/exec/${script}`), await info(`/exec/${script}`)];
      expect(exec.map((f) => f.counter)).toEqual(['1', '1']);
      expect(exec[1]?.pid).not.toBe(exec[0]?.pid);
    },
  );

  it('a missing script is answered 404 by cgi-fpm, which logs the SCRIPT_FILENAME Apache sent', async () => {
    const since = fpm().logs.length;
    const res = await web().request('/exec/missing.py');
    expect(res.status).toBe(404);
    expect(res.text).toContain('cgi-fpm');
    const entry = await fpm().waitForLog((e) => e.msg === 'script not found', EVENT_TIMEOUT_MS, since);
    expect(entry.script).toBe(`proxy:fcgi://localhost${join(roots.exec, 'missing.py')}`);
  });
});

describe('Apache mod_proxy_fcgi: ProxyPassMatch', () => {
  it.each(APACHE_SCRIPTS)('pool %s runs %s (%s) under /pp/', async (pool, script, language) => {
    const fields = await info(`/pp/${pool}/${script}?q=pp`);
    expect(fields).toMatchObject({
      language,
      QUERY_STRING: 'q=pp',
      SCRIPT_FILENAME: join(roots[pool], script),
      PATH_INFO: '',
    });
  });

  it.each(APACHE_SCRIPTS)('pool %s, %s: PATH_INFO with proxy-fcgi-pathinfo=full', async (pool, script) => {
    const fields = await info(`/ppi/${pool}/${script}/a/b?q=1`);
    expect(fields).toMatchObject({
      PATH_INFO: '/a/b',
      SCRIPT_NAME: `/ppi/${pool}/${script}`,
      SCRIPT_FILENAME: join(roots[pool], script),
      QUERY_STRING: 'q=1',
    });
  });

  it.each(APACHE_SCRIPTS)(
    'pool %s, %s: PATH_INFO repeated in SCRIPT_FILENAME (proxy-fcgi-pathinfo=first-dot)',
    async (pool, script) => {
      const fields = await info(`/ppd/${pool}/${script}/c/d`);
      expect(fields).toMatchObject({
        PATH_INFO: '/c/d',
        SCRIPT_NAME: `/ppd/${pool}/${script}`,
        SCRIPT_FILENAME: join(roots[pool], script),
      });
    },
  );

  it.each(APACHE_SCRIPTS)(
    'pool %s, %s: PATH_INFO split off SCRIPT_FILENAME by cgi-fpm (none sent)',
    async (pool, script) => {
      const fields = await info(`/pps/${pool}/${script}/e/f`);
      expect(fields).toMatchObject({
        PATH_INFO: '/e/f',
        SCRIPT_NAME: `/pps/${pool}/${script}`,
        SCRIPT_FILENAME: join(roots[pool], script),
      });
    },
  );

  it.each(APACHE_SCRIPTS)('pool %s, %s: a POST body under /pp/', async (pool, script) => {
    const fields = await info(`/pp/${pool}/${script}`, { method: 'POST', body: 'x=1&y=two' });
    expect(fields).toMatchObject({ REQUEST_METHOD: 'POST', body: 'x=1&y=two' });
  });

  it('a missing script under /pp/ is answered 404 by cgi-fpm, not by Apache', async () => {
    const since = fpm().logs.length;
    const res = await web().request('/pp/node/nothing.js');
    expect(res.status).toBe(404);
    expect(res.text).toContain('cgi-fpm');
    const entry = await fpm().waitForLog((e) => e.msg === 'script not found', EVENT_TIMEOUT_MS, since);
    expect(entry.script).toBe(`proxy:fcgi://localhost${join(roots.node, 'nothing.js')}`);
  });
});
