// This file implements the tests of `dispatch` in validate.ts and shared-listen.ts from the
// perspective of an admin writing a pool: "direct" fits a static handler pool on a socket of
// its own, and every other combination is refused naming the file, pool, key, value and why.
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { configProblems, parseConfig } from './load.ts';

let dir = '';
let root = '';
let file = '';

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-dispatch-')));
  root = join(dir, 'cgi-bin');
  file = join(dir, 'cgi-fpm.toml');
  await mkdir(root);
  await writeFile(join(dir, 'app.mjs'), 'export default () => undefined;\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function handlerPool(body: string, name = 'api', listen = `/run/cgi-fpm/${name}.sock`): string {
  return `[pools.${name}]\nlisten = "${listen}"\nroot = "${root}"\nruntime = "handler"\n"handler.module" = "${dir}/app.mjs"\n${body}\n`;
}

async function problems(text: string): Promise<string[]> {
  try {
    await parseConfig(text, file);
  } catch (error) {
    if (error instanceof ConfigError) return configProblems(error).map((e) => e.message.replace(file, 'FILE'));
    throw error;
  }
  throw new Error('expected config problems');
}

describe('dispatch', () => {
  it('defaults to "relay" and reads "direct" for a static handler pool', async () => {
    const relay = await parseConfig(handlerPool(''), file);
    expect(relay.pools[0]?.dispatch).toBe('relay');
    const direct = await parseConfig(handlerPool('pm = "static"\ndispatch = "direct"\n"ping.path" = "/ping"'), file);
    expect(direct.pools[0]?.dispatch).toBe('direct');
  });

  it.each([
    ['dispatch = "sometimes"', 'dispatch must be one of "relay", "direct", got "sometimes"'],
    ['pm = "dynamic"\ndispatch = "direct"', 'dispatch = "direct" needs pm = "static", got pm = "dynamic"'],
    ['pm = "ondemand"\ndispatch = "direct"', 'dispatch = "direct" needs pm = "static", got pm = "ondemand"'],
    ['pm = "static"\ndispatch = "direct"\n"pm.status_path" = "/status"', 'dispatch = "direct" serves pm.status_path on pm.status_listen only'],
    ['pm = "static"\ndispatch = "direct"\nrequest_slowlog_timeout = "1s"', 'request_slowlog_timeout needs dispatch = "relay"'],
    ['pm = "static"\ndispatch = "direct"\n"access.log" = "/tmp/access.log"', 'access.log needs dispatch = "relay"'],
  ])('refuses %s', async (line, detail) => {
    const [message, ...rest] = await problems(handlerPool(line));
    expect(rest).toEqual([]);
    expect(message).toContain(`config: FILE: pool "api": ${detail}`);
  });

  it.each(['exec', 'python', 'node'])('reads "direct" for a static %s pool', async (runtime) => {
    const text = `[pools.cgi]\nlisten = "/run/cgi-fpm/cgi.sock"\nroot = "${root}"\nruntime = "${runtime}"\npm = "static"\ndispatch = "direct"\n`;
    const config = await parseConfig(text, file);
    expect(config.pools[0]?.dispatch).toBe('direct');
  });

  it('refuses dispatch = "direct" for an exec pool with exec.worker = "node", saying why', async () => {
    const text = `[pools.cgi]\nlisten = "/run/cgi-fpm/cgi.sock"\nroot = "${root}"\nruntime = "exec"\n"exec.worker" = "node"\npm = "static"\ndispatch = "direct"\n`;
    const [message, ...rest] = await problems(text);
    expect(rest).toEqual([]);
    expect(message).toContain('config: FILE: pool "cgi": dispatch = "direct" with runtime = "exec" needs the python worker, got exec.worker = "node"');
  });

  it.each(['dynamic', 'ondemand'])('refuses a direct python pool with pm = "%s"', async (pm) => {
    const text = `[pools.py]\nlisten = "/run/cgi-fpm/py.sock"\nroot = "${root}"\nruntime = "python"\npm = "${pm}"\ndispatch = "direct"\n`;
    const [message, ...rest] = await problems(text);
    expect(rest).toEqual([]);
    expect(message).toContain(`config: FILE: pool "py": dispatch = "direct" needs pm = "static", got pm = "${pm}"`);
  });

  it('refuses a direct pool sharing its listen with another pool', async () => {
    const shared = '/run/cgi-fpm/shared.sock';
    const text = handlerPool('pm = "static"\ndispatch = "direct"', 'api', shared) + handlerPool('', 'other', shared);
    const [message, ...rest] = await problems(text);
    expect(rest).toEqual([]);
    expect(message).toContain('pool "other": pool "api" has dispatch = "direct": its workers accept on "unix:/run/cgi-fpm/shared.sock" themselves');
  });
});
