// This file implements issue 5's per-pool identity check from the perspective of an operator
// who isolates two script groups under two users behind nginx: each script runs as its pool's
// user (supplementary groups dropped, umask applied), each socket has its listen.owner,
// listen.group and listen.mode, pool a's script cannot read pool b's private file while pool
// b's can, and a daemon that is not root refuses to start a pool under another user.
import { spawn } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN } from './helpers/paths.ts';
import { account, connectAs, fields, startUsersStack, systemUser, type UsersStack } from './5-users-stack.ts';

const isRoot = process.getuid?.() === 0;

describe('5-users: the suite runs as root', () => {
  // Switching users needs root. CI runs the suite as root, so there it must not pass unseen.
  it.skipIf(!isRoot && process.env.CI === undefined)('is root (CI must run it as root)', () => {
    expect(process.getuid?.(), 'test/integration/5-users-*: run as root: it creates users and starts pools under them').toBe(0);
  });
});

describe.runIf(isRoot)('5-users: two pools under two users behind nginx', () => {
  let stack: UsersStack;
  beforeAll(async () => { stack = await startUsersStack(); });
  afterAll(async () => { await stack.stop(); });

  it("runs each pool's scripts as its user, with only its group, and the user's USER", async () => {
    const a = await stack.get('/a/whoami.sh');
    expect(a.status, a.text).toBe(200);
    expect(fields(a.text)).toMatchObject({
      uid: String(stack.a.account.uid), user: 'cgifpm-a', groups: String(stack.a.account.gid),
      env_user: 'cgifpm-a', umask: '0027',
    });
    const b = await stack.get('/b/whoami.py');
    expect(b.status, b.text).toBe(200);
    expect(fields(b.text)).toMatchObject({
      uid: String(stack.b.account.uid), user: 'cgifpm-b', groups: String(stack.b.account.gid),
    });
  });

  it("gives each socket its listen.owner, listen.group and listen.mode (nginx's www-data gets in, nobody does not)", async () => {
    const wwwData = account('www-data');
    const nobody = account('nobody');
    if (wwwData === undefined || nobody === undefined) throw new Error('users: www-data and nobody must exist');
    const a = await stat(stack.a.socket);
    expect({ uid: a.uid, gid: a.gid, mode: a.mode & 0o7777, socket: a.isSocket() })
      .toEqual({ uid: wwwData.uid, gid: wwwData.gid, mode: 0o660, socket: true });
    const b = await stat(stack.b.socket);
    expect({ uid: b.uid, gid: b.gid, mode: b.mode & 0o7777, socket: b.isSocket() })
      .toEqual({ uid: 0, gid: wwwData.gid, mode: 0o660, socket: true });
    for (const socket of [stack.a.socket, stack.b.socket]) {
      expect(await connectAs(wwwData, socket)).toBe('connected');
      expect(await connectAs(nobody, socket)).toBe('EACCES');
    }
  });

  it("keeps pool a's script out of pool b's private file (and b's out of a's), each reading its own", async () => {
    const aReadsB = await stack.get(`/a/read.sh?${stack.b.privateFile}`);
    expect(aReadsB.status).toBe(200);
    expect(aReadsB.text).toBe(`read failed: cat: ${stack.b.privateFile}: Permission denied\n`);
    const bReadsB = await stack.get(`/b/read.py?${stack.b.privateFile}`);
    expect(bReadsB.text).toBe(`read ok: ${stack.b.secret}\n`);
    const bReadsA = await stack.get(`/b/read.py?${stack.a.privateFile}`);
    expect(bReadsA.text).toBe(`read failed: [Errno 13] Permission denied: '${stack.a.privateFile}'\n`);
    const aReadsA = await stack.get(`/a/read.sh?${stack.a.privateFile}`);
    expect(aReadsA.text).toBe(`read ok: ${stack.a.secret}\n`);
  });

  it('gives files the scripts create to the pool user, with the pool umask', async () => {
    const response = await stack.get('/a/create.sh');
    const created = join(stack.a.root, 'created.txt');
    expect(response.text).toBe(`created ${created}\n`);
    const file = await stat(created);
    expect({ uid: file.uid, gid: file.gid, mode: file.mode & 0o777 })
      .toEqual({ uid: stack.a.account.uid, gid: stack.a.account.gid, mode: 0o640 });
  });

  it('answers 403 for a script root may execute but the pool user may not', async () => {
    // 0744 root:root: access(X_OK) passes for root (the supervisor's check), execve fails for cgifpm-a.
    await writeFile(join(stack.a.root, 'root-only.sh'), '#!/bin/sh\necho never\n', { mode: 0o744 });
    const since = stack.daemon.logs.length;
    const response = await stack.get('/a/root-only.sh');
    expect(response.status).toBe(403);
    const entry = await stack.daemon.waitForLog((e) => e.msg === 'script refused', 5000, since);
    expect(entry).toMatchObject({ pool: 'a', reason: 'not executable by user cgifpm-a' });
  });
});

/** Runs the built CLI as `user`; resolves with its exit code and output. */
function cliAs(user: { uid: number; gid: number }, args: readonly string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    uid: user.uid, gid: user.gid, cwd: '/', env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  return new Promise((resolve) => child.once('close', (code) => { resolve({ code, out }); }));
}

describe.runIf(isRoot)('5-users: a daemon that is not root', () => {
  let stack: UsersStack;
  beforeAll(async () => { stack = await startUsersStack(); });
  afterAll(async () => { await stack.stop(); });

  it('passes check (a root-started daemon is the usual case) but refuses to start the pool: exit 70', async () => {
    const file = join(stack.dir, 'as-a.toml');
    const text = `[pools.x]\nlisten = "${join(stack.dir, 'x.sock')}"\nroot = "${stack.b.root}"\nuser = "cgifpm-b"\n`;
    await writeFile(file, text, { mode: 0o644 });
    const a = systemUser('cgifpm-a');
    const check = await cliAs(a, ['check', '-c', file]);
    expect(check.code, check.out).toBe(0);
    expect(check.out).toContain('user = "cgifpm-b"');
    const start = await cliAs(a, ['start', '-c', file]);
    expect(start.code, start.out).toBe(70);
    expect(start.out).toContain(
      `start: pool \\"x\\": user \\"cgifpm-b\\" (uid ${stack.b.account.uid}, gid ${stack.b.account.gid}): the daemon runs as uid ${a.uid}, not root`,
    );
  });
});
