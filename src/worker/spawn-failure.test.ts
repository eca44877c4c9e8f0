// This file implements the tests of spawn-failure.ts from the perspective of a client whose
// script its pool's user may not execute: a real `exec` spawn failure (EACCES, ENOENT) mapped
// to the status and log event the worker answers with.
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPoolConfig } from '../config/pool-config-test-peer.ts';
import { ErrorCode } from '../errors.ts';
import { execRuntime } from './runtimes/exec.ts';
import { spawnFailure } from './spawn-failure.ts';

let dir = '';

beforeAll(async () => {
  dir = await fsp.realpath(await fsp.mkdtemp(join(tmpdir(), 'cgi-fpm-spawn-failure-')));
  // No x bit at all: execve(2) says EACCES even to root.
  await fsp.writeFile(join(dir, 'no-x.sh'), '#!/bin/sh\n', { mode: 0o644 });
  await fsp.writeFile(join(dir, 'no-interpreter.sh'), '#!/nonexistent/interpreter\n', { mode: 0o755 });
});

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** The rejection of running `name` with the real exec runtime. */
async function spawnError(name: string): Promise<unknown> {
  const run = execRuntime({
    scriptFilename: join(dir, name), cwd: dir, env: { PATH: '/usr/bin:/bin' },
    stdin: Readable.from([]), stdout: new PassThrough(), onStderrLine: () => undefined,
    signal: new AbortController().signal,
  });
  return run.then(() => { throw new Error('expected a spawn failure'); }, (err: unknown) => err);
}

describe('spawnFailure', () => {
  it('answers 403 "script refused" naming the pool user for EACCES', async () => {
    const err = await spawnError('no-x.sh');
    expect(err).toMatchObject({ code: ErrorCode.ERR_CGI_SPAWN });
    const user = { uid: 990, gid: 990, name: 'cgifpm-a', groupName: 'cgifpm-a', home: undefined };
    expect(spawnFailure(err, testPoolConfig({ user }))).toEqual({
      status: 403,
      event: 'script refused',
      fields: { reason: 'not executable by user cgifpm-a', err: expect.stringContaining('EACCES') as unknown },
    });
    expect(spawnFailure(err, testPoolConfig()).fields).toMatchObject({ reason: "not executable by the daemon's user" });
  });

  it('keeps 502 "cgi spawn failed" for a missing interpreter and for other errors', async () => {
    const err = await spawnError('no-interpreter.sh');
    expect(spawnFailure(err, testPoolConfig())).toMatchObject({ status: 502, event: 'cgi spawn failed' });
    const eacces = Object.assign(new Error('EACCES: elsewhere'), { code: 'EACCES' });
    expect(spawnFailure(eacces, testPoolConfig())).toMatchObject({ status: 502, event: 'cgi spawn failed' });
  });
});
