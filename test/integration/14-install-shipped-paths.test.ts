// This file implements the agreement of the shipped files (issue 14, item 4) from the
// perspective of an operator who installs them side by side: one binary path
// (/usr/local/bin/cgi-fpm, npm's global prefix) in the units, the Apache fcgid site, the README
// and the man page; one config path; the system layout's sockets under /run/cgi-fpm (which the
// tmpfiles entry creates and the socket unit uses); and no socket in /tmp, which the unit's
// PrivateTmp=yes hides from nginx. The example sites name the socket config/example.toml opens
// for a checkout in /opt/cgi-fpm.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/paths.ts';

const SHIPPED_BIN = '/usr/local/bin/cgi-fpm';
const SHIPPED_CONFIG = '/etc/cgi-fpm/cgi-fpm.toml';
/** Where config/example.toml lives when the checkout is /opt/cgi-fpm, as the example sites assume. */
const EXAMPLE_CONFIG_DIR = '/opt/cgi-fpm/config';

const SHIPPED = [
  'systemd/cgi-fpm.service',
  'systemd/cgi-fpm.socket',
  'systemd/tmpfiles.d/cgi-fpm.conf',
  'config/cgi-fpm.toml',
  'config/pool.d/www.toml',
  'config/example.toml',
  'config/nginx.conf',
  'config/apache-fcgid.conf',
  'config/apache-proxy-fcgi.conf',
  'README.md',
  'docs/cgi-fpm.8.md',
];

async function text(file: string): Promise<string> {
  return readFile(join(REPO_ROOT, file), 'utf8');
}

async function toml(file: string): Promise<Record<string, Record<string, Record<string, unknown>>>> {
  return parse(await text(file)) as Record<string, Record<string, Record<string, unknown>>>;
}

describe('the shipped files', () => {
  it('name one binary path, /usr/local/bin/cgi-fpm', async () => {
    for (const file of SHIPPED) {
      const bins = [...(await text(file)).matchAll(/(?:^|[\s"'=`])(\/[\w./-]*\/bin\/cgi-fpm)\b/g)].map((m) => m[1]);
      for (const bin of bins) expect(`${file}: ${String(bin)}`).toBe(`${file}: ${SHIPPED_BIN}`);
    }
    const service = await text('systemd/cgi-fpm.service');
    for (const key of ['ExecStartPre', 'ExecStart', 'ExecReload']) {
      expect(new RegExp(`^${key}=${SHIPPED_BIN} .* --config ${SHIPPED_CONFIG}\\b`, 'm').test(service)).toBe(true);
    }
    expect(await text('config/apache-fcgid.conf')).toContain(`FcgidWrapper "${SHIPPED_BIN} worker --pool examples -c ${SHIPPED_CONFIG}"`);
  });

  it('put no socket in /tmp (the unit has PrivateTmp=yes)', async () => {
    expect(await text('systemd/cgi-fpm.service')).toMatch(/^PrivateTmp=yes$/m);
    for (const file of SHIPPED) expect(`${file}: ${(await text(file)).match(/\/tmp\/[\w./-]*\.sock/g)?.join(', ') ?? 'none'}`).toBe(`${file}: none`);
  });

  it('keep the system layout under /run/cgi-fpm, which tmpfiles creates and the socket unit uses', async () => {
    expect(await text('systemd/tmpfiles.d/cgi-fpm.conf')).toMatch(/^d \/run\/cgi-fpm 0755 root root -$/m);
    expect(await text('systemd/cgi-fpm.socket')).toMatch(/^ListenStream=\/run\/cgi-fpm\/www\.sock$/m);
    const main = await toml('config/cgi-fpm.toml');
    expect(main.global?.control_socket).toBe('/run/cgi-fpm/control.sock');
    expect((main as Record<string, unknown>).include).toEqual(['pool.d/*.toml']);
    const www = (await toml('config/pool.d/www.toml')).pools?.www;
    expect(www?.listen).toBe('/run/cgi-fpm/www.sock');
  });

  it('have the example sites name the socket config/example.toml opens', async () => {
    const example = (await toml('config/example.toml')).pools?.examples;
    const socket = resolve(EXAMPLE_CONFIG_DIR, String(example?.listen));
    expect(socket).toBe('/opt/cgi-fpm/run/example.sock');
    expect(await text('config/nginx.conf')).toContain(`server unix:${socket};`);
    const proxy = await text('config/apache-proxy-fcgi.conf');
    expect(proxy.match(/unix:[^|"]+/g)).toEqual([`unix:${socket}`, `unix:${socket}`, `unix:${socket}`]);
    const root = resolve(EXAMPLE_CONFIG_DIR, String(example?.root));
    expect(await text('config/nginx.conf')).toContain(`root ${root};`);
  });
});
