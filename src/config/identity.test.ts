// This file implements the tests of identity.ts (through parseConfig and formatConfigToml)
// from the perspective of an operator isolating pools under their own users: names resolved
// once at load against the account files, defaults as in PHP-FPM, and every mistake named.

import * as nodeFs from 'node:fs/promises';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { formatConfigToml } from './format.ts';
import { configProblems, parseConfig, type ConfigFs } from './load.ts';
import type { PoolConfig } from './schema.ts';

const PASSWD = `root:x:0:0:root:/root:/bin/bash
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
cgifpm-a:x:990:990::/srv/a:/usr/sbin/nologin
cgifpm-b:x:991:991::/srv/b:/usr/sbin/nologin
`;
const GROUP = 'root:x:0:\nwww-data:x:33:\ncgifpm-a:x:990:\ncgifpm-b:x:991:\nweb:x:500:www-data\n';

let dir: string;
let file: string;
/** Account file reads, to check that pools without these keys never read them. */
let reads: string[] = [];

/** node's fs, with the account files replaced by the fixtures above (`null`: no /etc/passwd). */
function accountsFs(passwd: string | null = PASSWD): ConfigFs {
  return {
    realpath: nodeFs.realpath,
    stat: nodeFs.stat,
    readdir: nodeFs.readdir,
    readFile: async (path, encoding) => {
      if (path !== '/etc/passwd' && path !== '/etc/group') return nodeFs.readFile(path, encoding);
      reads.push(path);
      const text = path === '/etc/group' ? GROUP : passwd;
      if (text === null) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
      return text;
    },
  };
}

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-identity-')));
  file = join(dir, 'cgi-fpm.toml');
  await mkdir(join(dir, 'cgi-bin'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function pool(body: string, name = 'a'): string {
  return `[pools.${name}]\nlisten = "${name}.sock"\nroot = "cgi-bin"\n${body}\n`;
}

async function onlyPool(text: string, fs = accountsFs()): Promise<PoolConfig> {
  const config = await parseConfig(text, file, fs);
  return config.pools[0]!;
}

async function problems(text: string, fs = accountsFs()): Promise<string[]> {
  try {
    await parseConfig(text, file, fs);
  } catch (error) {
    if (error instanceof ConfigError) return configProblems(error).map((e) => e.message.replace(file, 'FILE'));
    throw error;
  }
  throw new Error('expected config problems');
}

describe('user and group', () => {
  it('resolves a user name to its uid, primary group and home', async () => {
    const p = await onlyPool(pool('user = "cgifpm-a"\numask = "0027"'));
    expect(p.user).toEqual({ uid: 990, gid: 990, name: 'cgifpm-a', groupName: 'cgifpm-a', home: '/srv/a' });
    expect(p.umask).toBe(0o027);
    expect(p.listen).toMatchObject({ owner: undefined, group: undefined });
  });

  it('takes group by name or gid over the primary group, and a uid by number', async () => {
    expect((await onlyPool(pool('user = "cgifpm-a"\ngroup = "web"'))).user).toMatchObject({ uid: 990, gid: 500, groupName: 'web' });
    expect((await onlyPool(pool('user = 33\ngroup = 990'))).user).toEqual({
      uid: 33, gid: 990, name: 'www-data', groupName: 'cgifpm-a', home: '/var/www',
    });
    expect((await onlyPool(pool('user = "4242"\ngroup = 4243'))).user).toEqual({
      uid: 4242, gid: 4243, name: '4242', groupName: '4243', home: undefined,
    });
  });

  it('names the file, pool, key and value of each account it cannot resolve', async () => {
    const text = pool('user = "nobody2"\n"listen.owner" = "www"\n"listen.group" = "webs"') +
      pool('user = 4242', 'b') + pool('group = "web"', 'c') + pool('user = "cgifpm-a"\ngroup = "webs"', 'd');
    expect(await problems(text)).toEqual([
      'config: FILE: pool "a": user: no such user "nobody2" in /etc/passwd',
      'config: FILE: pool "a": listen.owner: no such user "www" in /etc/passwd',
      'config: FILE: pool "a": listen.group: no such group "webs" in /etc/group',
      'config: FILE: pool "b": user: uid 4242 has no entry in /etc/passwd to take its primary group from; set group too',
      'config: FILE: pool "c": group needs user: it sets the group the workers of user run as',
      'config: FILE: pool "d": group: no such group "webs" in /etc/group',
    ]);
  });

  it('refuses values that are no account or no umask', async () => {
    expect(await problems(pool('user = -1\ngroup = ""\numask = 18\n"listen.owner" = "a b"'))).toEqual([
      'config: FILE: pool "a": listen.owner: invalid account "a b": expected a name such as "www-data" or a numeric id from 0 to 4294967294',
      'config: FILE: pool "a": user: invalid account -1: expected a name such as "www-data" or a numeric id from 0 to 4294967294',
      'config: FILE: pool "a": group: invalid account "": expected a name such as "www-data" or a numeric id from 0 to 4294967294',
      'config: FILE: pool "a": umask: invalid umask 18: write it as an octal string such as "0027"',
    ]);
  });

  it('says when /etc/passwd cannot be read, and reads it only when a key needs it', async () => {
    reads = [];
    expect((await onlyPool(pool('umask = "077"'), accountsFs(null))).umask).toBe(0o077);
    expect(reads).toEqual([]);
    expect(await problems(pool('user = "cgifpm-a"'), accountsFs(null))).toEqual([
      'config: FILE: pool "a": user: cannot read /etc/passwd: ENOENT (no such file or directory)',
    ]);
  });
});

describe('listen.owner and listen.group', () => {
  it('gives the socket the owner and, unless listen.group is set, its primary group', async () => {
    expect((await onlyPool(pool('"listen.owner" = "www-data"'))).listen).toMatchObject({ owner: 33, group: 33 });
    expect((await onlyPool(pool('"listen.owner" = "www-data"\n"listen.group" = "web"'))).listen)
      .toMatchObject({ owner: 33, group: 500 });
    expect((await onlyPool(pool('"listen.group" = "web"'))).listen).toMatchObject({ owner: undefined, group: 500 });
    expect((await onlyPool(pool('"listen.owner" = 4242'))).listen).toMatchObject({ owner: 4242, group: undefined });
  });
});

describe('formatConfigToml with identities', () => {
  const TEXT = pool('user = "cgifpm-a"\n"listen.owner" = "www-data"\n"listen.mode" = "0660"\numask = "0027"') +
    pool('user = 4242\ngroup = "web"', 'b') + pool('', 'c');

  it('writes user and group as names, socket ids as numbers, umask in octal; nothing unset', async () => {
    const out = parse(formatConfigToml(await parseConfig(TEXT, file, accountsFs()))) as {
      pools: Record<string, Record<string, unknown>>;
    };
    expect(out.pools.a).toMatchObject({
      user: 'cgifpm-a', group: 'cgifpm-a', 'listen.owner': 33, 'listen.group': 33, umask: '0027',
    });
    expect(out.pools.b).toMatchObject({ user: '4242', group: 'web' });
    for (const key of ['user', 'group', 'umask', 'listen.owner', 'listen.group']) expect(out.pools.c).not.toHaveProperty(key);
  });

  it('loads back to an equal config', async () => {
    const config = await parseConfig(TEXT, file, accountsFs());
    const again = await parseConfig(formatConfigToml(config), join(dir, 'again.toml'), accountsFs());
    expect(again.pools).toEqual(config.pools);
  });
});
