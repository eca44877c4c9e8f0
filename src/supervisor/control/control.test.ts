// This file implements the tests of control.ts from the perspective of a client of a real unix
// socket in a temporary directory, in front of a fake supervisor (ControlTarget): mode 0600,
// one JSON line each way, bad input answered and never thrown.

import { mkdtemp, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../errors.ts';
import { startControlServer, type ControlServer } from './control.ts';
import type { ControlTarget, ReloadResult } from '../status.ts';
import { testDaemonStatus } from '../status-test-peer.ts';

let dir: string;
let path: string;
let server: ControlServer | undefined;
const log = pino({ level: 'silent' });

function fakeTarget(reload: ReloadResult = { ok: true }) {
  return {
    status: vi.fn(() => testDaemonStatus()),
    reload: vi.fn(() => Promise.resolve(reload)),
    stop: vi.fn(),
    drain: vi.fn(() => Promise.resolve<ReloadResult>({ ok: true })),
  } satisfies ControlTarget;
}

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-control-')));
  path = join(dir, 'run', 'control.sock');
});

afterEach(async () => {
  server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

function opened(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Sends `chunks` (one write each), then reads until the daemon closes; `end` half-closes. */
async function exchange(chunks: readonly (string | Buffer)[], end = false): Promise<string> {
  const socket = await opened();
  return new Promise((resolve, reject) => {
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => (reply += data));
    socket.once('end', () => {
      socket.end();
      resolve(reply);
    });
    socket.once('error', reject);
    for (const chunk of chunks) socket.write(chunk);
    if (end) socket.end();
  });
}

async function ask(request: unknown): Promise<unknown> {
  const reply = await exchange([`${JSON.stringify(request)}\n`]);
  expect(reply.endsWith('\n')).toBe(true);
  expect(reply.indexOf('\n')).toBe(reply.length - 1);
  return JSON.parse(reply);
}

describe('startControlServer: the socket', () => {
  it('creates the parent directory and a socket of mode 0600', async () => {
    server = await startControlServer(path, fakeTarget(), log);
    const info = await stat(path);
    expect(info.isSocket()).toBe(true);
    expect(info.mode & 0o777).toBe(0o600);
  });

  it('replaces a stale socket file left by a daemon that died', async () => {
    const old = createServer();
    const other = join(dir, 'old.sock');
    await new Promise<void>((resolve) => old.listen(other, resolve));
    await rename(join(dir, 'old.sock'), join(dir, 'stale.sock'));
    await new Promise<void>((resolve) =>
      old.close(() => {
        resolve();
      }),
    );
    path = join(dir, 'stale.sock');
    expect((await stat(path)).isSocket()).toBe(true);
    server = await startControlServer(path, fakeTarget(), log);
    expect(await ask({ command: 'stop' })).toEqual({ ok: true });
  });

  it('refuses to replace a file that is not a socket', async () => {
    path = join(dir, 'file');
    await writeFile(path, 'precious');
    const error = await startControlServer(path, fakeTarget(), log).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.ERR_LISTEN });
    expect((error as Error).message).toBe(
      `control: cannot listen on ${path}: exists and is not a socket: ${path}`,
    );
  });

  it('stops accepting on close and drops connections that sent nothing', async () => {
    server = await startControlServer(path, fakeTarget(), log);
    const idle = await opened();
    const closed = new Promise((resolve) => idle.once('close', resolve));
    server.close();
    await closed;
    await expect(opened()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('closes a connection that sends nothing within the request timeout', async () => {
    server = await startControlServer(path, fakeTarget(), log, { requestTimeoutMs: 50 });
    const idle = await opened();
    await new Promise((resolve) => idle.once('close', resolve));
  });
});

describe('startControlServer: commands', () => {
  it('answers status with the target status', async () => {
    const target = fakeTarget();
    server = await startControlServer(path, target, log);
    expect(await ask({ command: 'status' })).toEqual({ ok: true, status: testDaemonStatus() });
    expect(target.status).toHaveBeenCalledOnce();
  });

  it('answers reload with its outcome, refused config problems included', async () => {
    const errors = ['config: /etc/x.toml: pool "blog": pm.max_children must be ≥ 1, got 0'];
    server = await startControlServer(path, fakeTarget({ ok: false, errors }), log);
    expect(await ask({ command: 'reload' })).toEqual({ ok: false, errors });
    server.close();
    const target = fakeTarget();
    server = await startControlServer(path, target, log);
    expect(await ask({ command: 'reload' })).toEqual({ ok: true });
    expect(target.reload).toHaveBeenCalledOnce();
  });

  it('answers stop, then starts the stop', async () => {
    const target = fakeTarget();
    server = await startControlServer(path, target, log);
    expect(await ask({ command: 'stop' })).toEqual({ ok: true });
    expect(target.stop).toHaveBeenCalledOnce();
    expect(target.status).not.toHaveBeenCalled();
  });

  it('turns a target that throws into an error reply and keeps serving', async () => {
    const target = fakeTarget();
    target.status.mockImplementationOnce(() => {
      throw new Error('boom');
    });
    server = await startControlServer(path, target, log);
    expect(await ask({ command: 'status' })).toEqual({ ok: false, errors: ['control: status: boom'] });
    expect(await ask({ command: 'status' })).toMatchObject({ ok: true });
  });
});

describe('startControlServer: bad input', () => {
  it.each([
    [{ command: 'x' }, 'control: unknown command "x"'],
    [{ cmd: 'status' }, 'control: invalid request: expected an object such as {"command":"status"}'],
  ])('answers %j with an error', async (request, error) => {
    const target = fakeTarget();
    server = await startControlServer(path, target, log);
    expect(await ask(request)).toEqual({ ok: false, errors: [error] });
    expect(target.stop).not.toHaveBeenCalled();
  });

  it('answers a line that is not JSON', async () => {
    server = await startControlServer(path, fakeTarget(), log);
    const reply = JSON.parse(await exchange(['stop\n'])) as { ok: boolean; errors: string[] };
    expect(reply.ok).toBe(false);
    expect(reply.errors[0]).toMatch(/^control: invalid request: not JSON/);
  });

  it('reads a request split across writes, and one ended by a half-close instead of a newline', async () => {
    const target = fakeTarget();
    server = await startControlServer(path, target, log);
    expect(JSON.parse(await exchange(['{"comm', 'and":"st', 'atus"}\n{"command":"stop"}\n']))).toMatchObject({
      ok: true,
    });
    expect(target.stop).not.toHaveBeenCalled();
    expect(JSON.parse(await exchange(['{"command":"stop"}'], true))).toEqual({ ok: true });
    expect(target.stop).toHaveBeenCalledOnce();
  });

  it('answers an empty request', async () => {
    server = await startControlServer(path, fakeTarget(), log);
    expect(JSON.parse(await exchange([], true))).toEqual({ ok: false, errors: ['control: empty request'] });
  });

  it('bounds the request at 64 KiB', async () => {
    const target = fakeTarget();
    server = await startControlServer(path, target, log);
    const big = Buffer.alloc(64 * 1024 + 1, 0x20);
    expect(JSON.parse(await exchange([big]))).toEqual({
      ok: false,
      errors: ['control: request too large: more than 65536 bytes without a newline'],
    });
    const padded = `${' '.repeat(64 * 1024 - 20)}{"command":"stop"}\n`;
    expect(JSON.parse(await exchange([padded]))).toEqual({ ok: true });
  });
});
