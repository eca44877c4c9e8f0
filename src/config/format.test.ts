// This file implements the tests of format.ts from the perspective of an operator reading the
// output of `cgi-fpm check`: PHP-FPM spellings, defaults shown, and a file that loads back to
// the same config.

import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatConfigToml } from './format.ts';
import { parseConfig } from './load.ts';

let dir: string;
let file: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-format-')));
  file = join(dir, 'cgi-fpm.toml');
  await mkdir(join(dir, 'cgi-bin'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TEXT = `[global]
log_level = "debug"

[pools.blog]
listen = "blog.sock"
root = "cgi-bin"
match = ["*.py"]
pm.max_children = 4
request_terminate_timeout = 0
"queue.timeout" = "1500ms"
env = { DATABASE_URL = "postgres://localhost/blog", "odd.name" = "x" }

[pools.api]
listen = "[0:0::1]:9001"
root = "cgi-bin"
stderr = "forward"
clear_env = false
`;

describe('formatConfigToml', () => {
  it('writes every key with PHP-FPM spellings and the defaults applied', async () => {
    const text = formatConfigToml(await parseConfig(TEXT, file));
    expect(text.startsWith(`# effective configuration of ${JSON.stringify(file)}`)).toBe(true);
    expect(parse(text)).toEqual({
      global: { log_level: 'debug', process_control_timeout: '10s', client_header_timeout: '1m', keepalive_timeout: '75s' },
      pools: {
        blog: {
          listen: join(dir, 'blog.sock'),
          'listen.mode': '0660',
          'listen.backlog': 511,
          'listen.max_connections': 1000,
          'listen.mpxs_conns': true,
          root: join(dir, 'cgi-bin'),
          match: ['*.py'],
          require_executable: true,
          runtime: 'exec',
          pm: 'static',
          'pm.max_children': 4,
          'pm.start_servers': 2,
          'pm.min_spare_servers': 1,
          'pm.max_spare_servers': 3,
          'pm.process_idle_timeout': '10s',
          'pm.max_requests': 0,
          'pm.max_memory': 0,
          request_slowlog_timeout: 0,
          slowlog_stack: true,
          'ping.response': 'pong',
          'access.format': '%R - %u %t "%m %r" %s',
          request_terminate_timeout: 0,
          'queue.max': 100,
          'queue.timeout': '1500ms',
          clear_env: true,
          stderr: 'log',
          dispatch: 'relay',
          'python.executable': 'python3',
          isolation: 'persistent',
          preload: [],
          'state.modules': 'reset',
          'state.globals': 'reset',
          'handler.concurrency': 1,
          env: { DATABASE_URL: 'postgres://localhost/blog', 'odd.name': 'x' },
        },
        api: expect.objectContaining({
          listen: '[::1]:9001',
          request_terminate_timeout: '1m',
          'queue.timeout': '30s',
          stderr: 'forward',
          dispatch: 'relay',
          clear_env: false,
          env: {},
        }) as unknown,
      },
    });
    expect(text).toContain('"pm.max_children" = 4');
    expect(text).toContain('"listen.mode" = "0660"');
  });

  it('loads back to an equal config', async () => {
    const config = await parseConfig(TEXT, file);
    const again = await parseConfig(formatConfigToml(config), join(dir, 'again.toml'));
    expect(again.pools).toEqual(config.pools);
    expect(again.global).toEqual(config.global);
  });

  it('writes a socket systemd passes as systemd:NAME, which loads back equal', async () => {
    const config = await parseConfig('[pools.www]\nlisten = "systemd:www"\nroot = "cgi-bin"\n', file);
    expect(config.pools[0]?.listen.address).toEqual({ kind: 'systemd', name: 'www' });
    const text = formatConfigToml(config);
    expect(text).toContain('listen = "systemd:www"');
    expect((await parseConfig(text, join(dir, 'again.toml'))).pools).toEqual(config.pools);
  });

  it('keeps a pool named __proto__ as a pool', async () => {
    const config = await parseConfig('[pools.__proto__]\nlisten = "/a.sock"\nroot = "cgi-bin"\n', file);
    const again = await parseConfig(formatConfigToml(config), file);
    expect(again.pools.map((p) => p.name)).toEqual(['__proto__']);
  });
});
