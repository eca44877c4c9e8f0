// This file implements the shipped examples' checks from the perspective of a newcomer following
// the README: config/example.toml passes `cgi-fpm check`, serves every hello and form script in
// examples/cgi-bin behind nginx running the shipped config/nginx.conf site (only its listen
// address, root and upstream socket swapped for temporary ones), with FastCGI keep-alive, and
// through the embedded `--http` front; SIGTERM then stops it with exit 0 and no worker left.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { startDaemon, type Daemon } from './helpers/daemon.ts';
import { freeLoopbackPort } from './helpers/free-port.ts';
import { httpRequest, keepAliveAgent } from './helpers/http.ts';
import { startNginx, type Nginx } from './helpers/nginx.ts';
import { NGINX_FASTCGI_PARAMS, REPO_ROOT } from './helpers/paths.ts';
import { childPids, waitForProcessesGone } from './helpers/processes.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { acceptedConnections } from './helpers/unix-sockets.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

const EXAMPLE_TOML = join(REPO_ROOT, 'config/example.toml');
const EXAMPLE_NGINX = join(REPO_ROOT, 'config/nginx.conf');
const EXAMPLES_ROOT = join(REPO_ROOT, 'examples/cgi-bin');

/** Replaces `from` in `text`, failing loudly if the shipped file no longer contains it. */
function swap(text: string, from: string | RegExp, to: string): string {
  const found = typeof from === 'string' ? text.includes(from) : from.test(text);
  if (!found) throw new Error(`examples: ${String(from)} not found in the shipped config; update this test`);
  return text.replace(from, to);
}

let tmp: TempDir | undefined;
let daemon: Daemon | undefined;
let nginx: Nginx | undefined;
let httpPort = 0;
let fastcgiSocket = '';

function running(): { daemon: Daemon; nginx: Nginx } {
  if (daemon === undefined || nginx === undefined) throw new Error('examples: not started (see beforeAll)');
  return { daemon, nginx };
}

beforeAll(async () => {
  tmp = await createTempDir();
  fastcgiSocket = join(tmp.path, 'example.sock');
  httpPort = await freeLoopbackPort();
  const toml = swap(
    swap(await readFile(EXAMPLE_TOML, 'utf8'), '"../run/example.sock"', JSON.stringify(fastcgiSocket)),
    'root = "../examples/cgi-bin"',
    `root = ${JSON.stringify(EXAMPLES_ROOT)}`,
  );
  daemon = await startDaemon({ dir: tmp.path, config: toml, args: ['--http', `127.0.0.1:${httpPort}`] });

  const httpSocket = join(tmp.path, 'http.sock');
  let site = await readFile(EXAMPLE_NGINX, 'utf8');
  site = swap(site, 'server unix:/opt/cgi-fpm/run/example.sock;', `server unix:${fastcgiSocket};`);
  site = swap(site, /^\s*listen 8080;$/m, `    listen unix:${httpSocket};`);
  site = swap(site, /^\s*listen \[::\]:8080;\n/m, '');
  site = swap(site, /^\s*root \/opt\/cgi-fpm\/examples\/cgi-bin;$/m, `    root ${EXAMPLES_ROOT};`);
  const nginxDir = join(tmp.path, 'nginx');
  await mkdir(nginxDir);
  // `include fastcgi_params;` is relative to the directory of the main nginx.conf.
  await copyFile(NGINX_FASTCGI_PARAMS, join(nginxDir, 'fastcgi_params'));
  nginx = await startNginx({ dir: nginxDir, httpSocket, site });
});

afterAll(async () => {
  await nginx?.stop();
  await daemon?.stop();
  await tmp?.remove();
});

describe('config/example.toml', () => {
  it('passes `cgi-fpm check` as shipped', async () => {
    const r = await runCli(['check', '-c', EXAMPLE_TOML], REPO_ROOT);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('examples behind nginx with the shipped site (config/nginx.conf)', () => {
  const agent = keepAliveAgent(2);
  afterAll(() => {
    agent.destroy();
  });
  const get = (path: string) => httpRequest({ socketPath: running().nginx.httpSocket, path, agent });
  const post = (path: string, body: string) =>
    httpRequest({
      socketPath: running().nginx.httpSocket,
      path,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      agent,
    });

  for (const script of ['hello.py', 'hello.pl', 'hello.js']) {
    it(`GET /${script}?name=Ann says hello (HTML-escaped)`, async () => {
      const res = await get(`/${script}?name=%3CAnn%3E`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toMatch(/Hello, (&lt;|&#60;)Ann(&gt;|&#62;)!/);
    });
  }

  it('GET /hello.sh/extra/path?x=1 gets PATH_INFO and QUERY_STRING', async () => {
    const res = await get('/hello.sh/extra/path?x=1');
    expect(res.status).toBe(200);
    expect(res.text).toBe('Hello from sh!\nREQUEST_METHOD=GET\nQUERY_STRING=x=1\nPATH_INFO=/extra/path\n');
  });

  for (const script of ['form.py', 'form.pl', 'form.js']) {
    it(`GET /${script} shows the form, POST echoes the fields`, async () => {
      const form = await get(`/${script}`);
      expect(form.status).toBe(200);
      expect(form.text).toContain('<form method="post">');
      const res = await post(`/${script}`, 'name=Ann&message=hi+%26+bye');
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/Thanks, Ann\. You wrote: hi (&amp;|&#38;) bye/);
    });
  }

  it('keeps the FastCGI connection to cgi-fpm open between requests (keepalive + fastcgi_keep_conn)', async () => {
    expect((await get('/hello.sh')).status).toBe(200);
    expect(acceptedConnections(fastcgiSocket).length).toBeGreaterThanOrEqual(1);
  });
});

describe('the embedded HTTP front (--http 127.0.0.1:PORT)', () => {
  it('serves /hello.py?name=Ann without nginx', async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/hello.py?name=Ann`, {
      signal: AbortSignal.timeout(EVENT_TIMEOUT_MS),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Hello, Ann!');
  });

  it('serves a POST to /form.js without nginx', async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/form.js`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=Ann&message=hello',
      signal: AbortSignal.timeout(EVENT_TIMEOUT_MS),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Thanks, Ann. You wrote: hello');
  });
});

describe('stopping', () => {
  it('SIGTERM stops the daemon with exit 0 and leaves no worker behind', async () => {
    const { daemon: d, nginx: n } = running();
    await n.stop();
    const workers = childPids(d.pid);
    expect(workers.length).toBeGreaterThanOrEqual(1);
    expect(await d.stop()).toBe(0);
    await waitForProcessesGone(workers, undefined, EVENT_TIMEOUT_MS);
  });
});
