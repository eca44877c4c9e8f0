// This file implements the tests of control-client.ts and control-reply.ts from the perspective
// of `cgi-fpm status|reload|stop` talking to a daemon over a temporary unix socket: the real
// control server for well-formed exchanges, a raw socket server for everything a daemon of
// another version (or no daemon) could do.

import { mkdtemp, realpath, rename, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ControlError, ErrorCode, TimeoutError } from '../errors.ts';
import { startControlServer, type ControlServer } from '../supervisor/control/control.ts';
import { testDaemonStatus, testPoolStatus } from '../supervisor/status-test-peer.ts';
import { exchangeControl, requestReload, requestStatus, requestStop,
  requestDrain, socketError } from './control-client.ts';
import { controlExitCode } from './control-command.ts';

let dir: string;
let path: string;
let control: ControlServer | undefined;
let raw: Server | undefined;

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-client-')));
  path = join(dir, 'control.sock');
});

afterEach(async () => {
  control?.close();
  control = undefined;
  raw?.close();
  raw = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A socket server that hands each connection and the first line it sent to `onRequest`. */
async function rawServer(onRequest: (socket: Socket, line: string) => void): Promise<void> {
  const server = createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      text += data;
      if (text.includes('\n')) onRequest(socket, text.slice(0, text.indexOf('\n')));
    });
    socket.on('error', () => undefined);
  });
  raw = server;
  await new Promise<void>((resolve) => server.listen(path, resolve));
}

async function failure(promise: Promise<unknown>): Promise<ControlError | TimeoutError> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  if (error instanceof ControlError || error instanceof TimeoutError) return error;
  throw error;
}

describe('requests against the real control server', () => {
  it('gets the status, a reload outcome and a stop', async () => {
    const target = { status: () => testDaemonStatus(), reload: vi.fn(), stop: vi.fn(), drain: vi.fn(() => Promise.resolve({ ok: true as const })) };
    target.reload
      .mockResolvedValueOnce({ ok: true })
      .mockResolvedValueOnce({ ok: false, errors: ['config: x: bad'] });
    control = await startControlServer(path, target, pino({ level: 'silent' }));
    expect(await requestStatus(path)).toEqual({ ok: true, status: testDaemonStatus() });
    expect(await requestReload(path)).toEqual({ ok: true });
    expect(await requestReload(path)).toEqual({ ok: false, errors: ['config: x: bad'] });
    expect(await requestStop(path)).toEqual({ ok: true });
    expect(await requestDrain(path)).toEqual({ ok: true });
    expect(target.drain).toHaveBeenCalledOnce();
    expect(target.stop).toHaveBeenCalledOnce();
  });
});

describe('requests against a raw server', () => {
  it('sends one JSON line and keeps fields a newer daemon adds', async () => {
    const lines: string[] = [];
    const status = { ...testDaemonStatus(), workersTotal: 4 };
    await rawServer((socket, line) => {
      lines.push(line);
      socket.end(`${JSON.stringify({ ok: true, status })}\n`);
    });
    expect(await requestStatus(path)).toEqual({ ok: true, status });
    expect(lines).toEqual(['{"command":"status"}']);
  });

  it('refuses a reply of the wrong shape, naming the field', async () => {
    const pools = [testPoolStatus({ backoff: { state: 'sleeping' as 'none', delayMs: 0, failures: 0 } })];
    await rawServer((socket) =>
      socket.end(`${JSON.stringify({ ok: true, status: testDaemonStatus({ pools }) })}\n`),
    );
    const error = await failure(requestStatus(path));
    expect(error.code).toBe(ErrorCode.ERR_CONTROL_PROTOCOL);
    expect(error.message).toMatch(
      new RegExp(
        `^control: ${path}: unexpected reply \\(status\\.pools\\[0\\]\\.backoff\\.state: .+\\); is the daemon another version of cgi-fpm\\?$`,
      ),
    );
    expect(controlExitCode(error)).toBe(76);
  });

  it.each([
    ['{"ok":"yes"}\n', 'unexpected reply (ok: '],
    ['{"ok":false}\n', 'unexpected reply (errors: '],
    [
      'HTTP/1.1 400 Bad Request\r\n\r\n',
      'unexpected reply (not JSON: "HTTP/1.1 400 Bad Request\\r"); is it a cgi-fpm control socket?',
    ],
  ])('refuses the reply %j', async (reply, message) => {
    await rawServer((socket) => socket.end(reply));
    const error = await failure(requestStop(path));
    expect(error.code).toBe(ErrorCode.ERR_CONTROL_PROTOCOL);
    expect(error.message).toContain(`control: ${path}: ${message}`);
  });

  it('reports a daemon that hangs up without answering as unavailable', async () => {
    await rawServer((socket) => socket.end());
    const error = await failure(exchangeControl(path, 'reload', 1000));
    expect(error.code).toBe(ErrorCode.ERR_CONTROL_UNAVAILABLE);
    expect(error.message).toBe(`control: ${path}: the daemon closed the connection without answering`);
    expect(controlExitCode(error)).toBe(69);
  });

  it('gives up on a daemon that does not answer in time', async () => {
    await rawServer(() => undefined);
    const error = await failure(exchangeControl(path, 'status', 50));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toBe(`control: ${path}: no answer within 50ms`);
    expect(controlExitCode(error)).toBe(75);
  });
});

describe('no daemon', () => {
  it('reports a missing socket (ENOENT) as not running', async () => {
    const error = await failure(requestStatus(path));
    expect(error.code).toBe(ErrorCode.ERR_CONTROL_UNAVAILABLE);
    expect(error.message).toBe(
      `control: cannot connect to ${path}: ENOENT (no such socket); is cgi-fpm running?`,
    );
    expect((error as ControlError).socketPath).toBe(path);
  });

  it('reports a stale socket (ECONNREFUSED) as not running', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'old.sock'), resolve));
    await rename(join(dir, 'old.sock'), path);
    await new Promise((resolve) => server.close(resolve));
    const error = await failure(requestStatus(path));
    expect(error.message).toBe(
      `control: cannot connect to ${path}: ECONNREFUSED (nothing listens on it); is cgi-fpm running?`,
    );
    expect(controlExitCode(error)).toBe(69);
  });

  it('reports EACCES as denied, with the mode to blame', () => {
    const eacces = Object.assign(new Error(`connect EACCES ${path}`), { code: 'EACCES' });
    const error = socketError(eacces, path, false);
    expect(error.code).toBe(ErrorCode.ERR_CONTROL_DENIED);
    expect(error.message).toBe(
      `control: cannot connect to ${path}: EACCES (permission denied); the socket is mode 0600: run as the user cgi-fpm runs as, or root`,
    );
    expect(error.cause).toBe(eacces);
    expect(controlExitCode(error)).toBe(77);
    const reset = socketError(
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      path,
      true,
    );
    expect(reset.code).toBe(ErrorCode.ERR_CONTROL_UNAVAILABLE);
    expect(reset.message).toBe(`control: ${path}: the connection failed before the answer: ECONNRESET`);
  });
});
