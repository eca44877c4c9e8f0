// This file implements the tests of pool-identity.ts and of listenUnix's owner (listeners.ts)
// from the perspective of a supervisor forking workers as their pools' users: the spawn
// options, the environment, the refusal when it is not root, and the socket's owner and mode.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import type { PoolUser } from '../../config/schema.ts';
import { DaemonError, ErrorCode } from '../../errors.ts';
import { listenUnix } from '../listen/listeners.ts';
import { assertPoolUsers, poolUserProblems, workerIdentity } from './pool-identity.ts';

const A: PoolUser = { uid: 990, gid: 991, name: 'cgifpm-a', groupName: 'web', home: '/srv/a' };
const withUser = testPoolConfig({ name: 'a', user: A });
const without = testPoolConfig({ name: 'b' });

describe('poolUserProblems / assertPoolUsers', () => {
  it('lets root take any user, and anyone keep their own', () => {
    expect(poolUserProblems([withUser, without], { uid: 0, gid: 0 })).toEqual([]);
    expect(poolUserProblems([withUser, without], { uid: 990, gid: 991 })).toEqual([]);
    expect(() => { assertPoolUsers([withUser], { uid: 0, gid: 0 }); }).not.toThrow();
  });

  it('refuses, naming the pool, the user and the daemon, when it is not root', () => {
    const expected = 'pool "a": user "cgifpm-a" (uid 990, gid 991): the daemon runs as uid 1000, not root, ' +
      'and cannot switch its workers to it; start cgi-fpm as root or remove user';
    expect(poolUserProblems([withUser, without], { uid: 1000, gid: 1000 })).toEqual([expected]);
    expect(poolUserProblems([withUser], { uid: 990, gid: 1000 })).toHaveLength(1);
    let thrown: unknown;
    try {
      assertPoolUsers([withUser, without], { uid: 1000, gid: 1000 });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DaemonError);
    expect(thrown).toMatchObject({ code: ErrorCode.ERR_POOL_USER, message: `start: ${expected}` });
  });
});

describe('workerIdentity', () => {
  const env = { PATH: '/usr/bin', HOME: '/root', USER: 'root', LOGNAME: 'root', KEEP: '1' };

  it('leaves a pool without user as the daemon, env unchanged', () => {
    expect(workerIdentity(without, env)).toEqual({ env });
  });

  it("gives uid, gid and the user's HOME, USER and LOGNAME", () => {
    expect(workerIdentity(withUser, env)).toEqual({
      uid: 990, gid: 991, env: { PATH: '/usr/bin', HOME: '/srv/a', USER: 'cgifpm-a', LOGNAME: 'cgifpm-a', KEEP: '1' },
    });
  });

  it("drops the daemon's HOME for a uid without a passwd entry", () => {
    const bare = testPoolConfig({ user: { uid: 4242, gid: 4242, name: '4242', groupName: '4242', home: undefined } });
    expect(workerIdentity(bare, env).env).toEqual({ PATH: '/usr/bin', USER: '4242', LOGNAME: '4242', KEEP: '1' });
  });
});

describe('listenUnix with listen.owner / listen.group', () => {
  let dir = '';
  const root = process.getuid?.() === 0;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-owner-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  async function socketStat(name: string, owner: { uid?: number; gid?: number }, mode = 0o660) {
    const server = createServer();
    const path = join(dir, name);
    try {
      await listenUnix(server, path, mode, 8, owner);
      return await stat(path);
    } finally {
      server.close();
    }
  }

  it('chowns to its own ids, and keeps them when none are given', async () => {
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    expect(await socketStat('own.sock', { uid, gid })).toMatchObject({ uid, gid, mode: 0o140660 });
    expect(await socketStat('kept.sock', {}, 0o600)).toMatchObject({ uid, gid, mode: 0o140600 });
  });

  it.runIf(root)('as root, gives the socket to another user and group, or only a group', async () => {
    expect(await socketStat('other.sock', { uid: 4242, gid: 4343 })).toMatchObject({ uid: 4242, gid: 4343 });
    expect(await socketStat('group.sock', { gid: 4343 }, 0o666)).toMatchObject({ uid: 0, gid: 4343, mode: 0o140666 });
  });

  it.runIf(!root)('not as root, names the ids it could not give the socket to', async () => {
    await expect(socketStat('root.sock', { uid: 0 })).rejects.toThrow(
      /^cannot give the socket to listen.owner 0, listen.group \(unchanged\): EPERM/,
    );
  });
});
