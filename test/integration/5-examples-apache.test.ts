// This file implements the shipped Apache examples' checks from the perspective of an operator
// following their comments: config/apache-proxy-fcgi.conf in front of cgi-fpm running
// config/example.toml (SetHandler and ProxyPassMatch, connections kept open), and
// config/apache-fcgid.conf spawning `cgi-fpm worker --pool examples`, each on a real Apache
// 2.4 with only its port, paths and the cgi-fpm command swapped for the test's own.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApache, type Apache } from './helpers/apache.ts';
import { startDaemon, type Daemon } from './helpers/daemon.ts';
import { CLI_MAIN, REPO_ROOT } from './helpers/paths.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { acceptedConnections } from './helpers/unix-sockets.ts';

const EXAMPLE_TOML = join(REPO_ROOT, 'config/example.toml');
const PROXY_CONF = join(REPO_ROOT, 'config/apache-proxy-fcgi.conf');
const FCGID_CONF = join(REPO_ROOT, 'config/apache-fcgid.conf');
const EXAMPLES_ROOT = join(REPO_ROOT, 'examples/cgi-bin');

/** Replaces every `from` in `text`, failing loudly if the shipped file no longer contains it. */
function swap(text: string, from: string, to: string): string {
  if (!text.includes(from))
    throw new Error(`examples: ${from} not found in the shipped config; update this test`);
  return text.split(from).join(to);
}

let tmp: TempDir | undefined;
let daemon: Daemon | undefined;
let proxy: Apache | undefined;
let fcgid: Apache | undefined;
let fastcgiSocket = '';

beforeAll(async () => {
  tmp = await createTempDir('cgi-fpm-apex-');
  fastcgiSocket = join(tmp.path, 'example.sock');
  let toml = await readFile(EXAMPLE_TOML, 'utf8');
  toml = swap(toml, '"../run/example.sock"', JSON.stringify(fastcgiSocket));
  // Another suite may run the example's daemon at the same time: keep its control socket apart.
  toml = swap(toml, '"../run/control.sock"', JSON.stringify(join(tmp.path, 'control.sock')));
  toml = swap(toml, 'root = "../examples/cgi-bin"', `root = ${JSON.stringify(EXAMPLES_ROOT)}`);
  daemon = await startDaemon({ dir: tmp.path, config: toml });
  const proxySite = swap(
    swap(await readFile(PROXY_CONF, 'utf8'), '/opt/cgi-fpm/run/example.sock', fastcgiSocket),
    '/opt/cgi-fpm/examples/cgi-bin',
    EXAMPLES_ROOT,
  );
  proxy = await startApache({
    dir: join(tmp.path, 'apache-proxy'),
    site: (port) => swap(proxySite, '*:8080', `*:${port}`),
  });

  const tomlFile = join(tmp.path, 'fcgid.toml');
  await writeFile(tomlFile, toml);
  let fcgidSite = swap(
    await readFile(FCGID_CONF, 'utf8'),
    '/usr/local/bin/cgi-fpm',
    `${process.execPath} ${CLI_MAIN}`,
  );
  fcgidSite = swap(
    swap(fcgidSite, '/etc/cgi-fpm/cgi-fpm.toml', tomlFile),
    '/opt/cgi-fpm/examples/cgi-bin',
    EXAMPLES_ROOT,
  );
  fcgid = await startApache({
    dir: join(tmp.path, 'apache-fcgid'),
    fcgid: true,
    site: (port) => swap(fcgidSite, '*:8080', `*:${port}`),
  });
});

afterAll(async () => {
  await fcgid?.stop();
  await proxy?.stop();
  await daemon?.stop();
  await tmp?.remove();
});

function web(which: 'proxy' | 'fcgid'): Apache {
  const apache = which === 'proxy' ? proxy : fcgid;
  if (apache === undefined) throw new Error('examples: apache not started (see beforeAll)');
  return apache;
}

const HELLO_SH = 'Hello from sh!\nREQUEST_METHOD=GET\nQUERY_STRING=x=1\nPATH_INFO=/extra/path\n';

describe.each([
  ['config/apache-proxy-fcgi.conf, SetHandler', 'proxy', ''],
  ['config/apache-proxy-fcgi.conf, ProxyPassMatch', 'proxy', '/cgi-bin'],
  ['config/apache-fcgid.conf', 'fcgid', ''],
] as const)('examples behind %s', (_name, which, prefix) => {
  for (const script of ['hello.py', 'hello.pl', 'hello.js']) {
    it(`GET ${prefix}/${script}?name=<Ann> says hello (HTML-escaped)`, async () => {
      const res = await web(which).request(`${prefix}/${script}?name=%3CAnn%3E`);
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toMatch(/Hello, (&lt;|&#60;)Ann(&gt;|&#62;)!/);
    });
  }

  it(`GET ${prefix}/hello.sh/extra/path?x=1 gets PATH_INFO and QUERY_STRING`, async () => {
    const res = await web(which).request(`${prefix}/hello.sh/extra/path?x=1`);
    expect(res.status).toBe(200);
    expect(res.text).toBe(HELLO_SH);
  });

  for (const script of ['form.py', 'form.pl', 'form.js']) {
    it(`POST ${prefix}/${script} echoes the fields`, async () => {
      const res = await web(which).request(`${prefix}/${script}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=Ann&message=hi+%26+bye',
      });
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/Thanks, Ann\. You wrote: hi (&amp;|&#38;) bye/);
    });
  }
});

describe('config/apache-proxy-fcgi.conf', () => {
  it('keeps FastCGI connections to cgi-fpm open between requests, both ways (enablereuse=on)', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await web('proxy').request('/hello.sh')).status).toBe(200);
      expect((await web('proxy').request('/cgi-bin/hello.sh')).status).toBe(200);
    }
    // One connection pool per way (the <Proxy> worker and the ProxyPassMatch worker).
    expect(acceptedConnections(fastcgiSocket).length).toBeGreaterThanOrEqual(2);
  });
});
