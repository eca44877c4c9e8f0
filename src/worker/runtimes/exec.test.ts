import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { CgiError, ErrorCode } from '../../errors.ts';
import { createExecRuntime, execRuntime, type SpawnFunction } from './exec.ts';
import type { Runtime } from './types.ts';
import { describe, expect, it } from 'vitest';
import { dir, sleepers, request, body, until, isGone, firstLinePid } from './exec-test-peer.ts';

describe('execRuntime', () => {
  it('pipes the body to the script and its output to stdout', async () => {
    const run = request('echo.sh', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    await expect(execRuntime(run.req)).resolves.toStrictEqual({ exitCode: 0, signal: null });
    expect(run.sink.text()).toBe('Content-Type: text/plain\r\n\r\nhello world');
  });

  it('runs in cwd with exactly env and no command-line arguments', async () => {
    const run = request('env.pl');
    await execRuntime(run.req);
    expect(run.sink.text()).toBe(`${dir}|x-value|0|PATH,X`);
  });

  it('drains a 3 MB body the script never reads', async () => {
    const input = body(3 * 1024 * 1024);
    const run = request('ignore.sh', input);
    await expect(execRuntime(run.req)).resolves.toStrictEqual({ exitCode: 0, signal: null });
    expect(run.sink.text()).toBe('Status: 204 No Content\r\n\r\n');
    await until(() => input.readableEnded);
  });

  it('streams 10 MB of output while a 3 MB body goes in, through a slow destination', async () => {
    const run = request('big.py', body(3 * 1024 * 1024));
    await expect(execRuntime(run.req)).resolves.toStrictEqual({ exitCode: 0, signal: null });
    const block = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const expectedBody = createHash('sha256');
    for (let i = 0; i < 10 * 4096; i++) expectedBody.update(block);
    const bodyHash = createHash('sha256');
    for (let sent = 0; sent < 3 * 1024 * 1024; sent += 32 * 1024)
      bodyHash.update(Buffer.alloc(32 * 1024, sent % 251));
    expectedBody.update(bodyHash.digest('hex'));
    const received = Buffer.concat(run.sink.chunks);
    expect(received.length).toBe(10 * 1024 * 1024 + 64);
    expect(createHash('sha256').update(received).digest('hex')).toBe(expectedBody.digest('hex'));
  });

  it('splits stderr into lines, the last one unterminated', async () => {
    const run = request('stderr.pl');
    await execRuntime(run.req);
    expect(run.lines).toStrictEqual(['one', 'two', 'three é']);
    expect(run.sink.text()).toBe('Status: 200 OK\r\n\r\n');
  });

  it('on abort, SIGTERMs the whole process group', async () => {
    const run = request('group.sh');
    const result = execRuntime(run.req);
    await until(() => firstLinePid(run.sink) > 0);
    const grandchild = firstLinePid(run.sink);
    sleepers.push(grandchild);
    run.abort.abort();
    await expect(result).resolves.toStrictEqual({ exitCode: null, signal: 'SIGTERM' });
    await until(() => isGone(grandchild));
  });

  it('SIGKILLs the group after the grace when SIGTERM is ignored', async () => {
    const run = request('stubborn.sh');
    const result = createExecRuntime({ killGraceMs: 200 })(run.req);
    await until(() => firstLinePid(run.sink) > 0);
    const grandchild = firstLinePid(run.sink);
    sleepers.push(grandchild);
    run.abort.abort();
    await expect(result).resolves.toStrictEqual({ exitCode: null, signal: 'SIGKILL' });
    await until(() => isGone(grandchild));
  });

  it('stops a run whose signal is already aborted', async () => {
    const run = request('sleep.sh');
    run.abort.abort();
    await expect(execRuntime(run.req)).resolves.toStrictEqual({ exitCode: null, signal: 'SIGTERM' });
  });

  it('does not wait for a background child that keeps stderr open', async () => {
    const run = request('stderr-holder.sh');
    await expect(createExecRuntime({ stderrGraceMs: 50 })(run.req)).resolves.toStrictEqual({
      exitCode: 0,
      signal: null,
    });
    // Resolved although the background child (sleep 100) held stderr open: resolving at all,
    // within the test's timeout, is the proof (the request's end then kills its group).
    sleepers.push(firstLinePid(run.sink));
  });

  it('kills a background child left in the group when the request ends (exec.kill_group_at_end)', async () => {
    const run = request('stderr-holder.sh');
    await createExecRuntime({ stderrGraceMs: 50 })(run.req);
    const pid = firstLinePid(run.sink);
    sleepers.push(pid);
    await until(() => isGone(pid));
  });

  it('leaves it running with killGroupAtEnd = false, as before', async () => {
    const run = request('stderr-holder.sh');
    await createExecRuntime({ stderrGraceMs: 50, killGroupAtEnd: false })(run.req);
    const pid = firstLinePid(run.sink);
    sleepers.push(pid);
    expect(isGone(pid)).toBe(false);
  });

  it('closes the pipes on SIGKILL when a process left the group holding stdout', async () => {
    const run = request('escape.sh');
    const result = createExecRuntime({ killGraceMs: 100 })(run.req);
    await until(() => firstLinePid(run.sink) > 0);
    sleepers.push(firstLinePid(run.sink));
    run.abort.abort();
    await expect(result).resolves.toMatchObject({ exitCode: null });
  });

  it('closes the script stdin when the body fails', async () => {
    const failing = new Readable({ read: () => undefined });
    const run = request('echo.sh', failing);
    const result = execRuntime(run.req);
    failing.push(Buffer.from('part'));
    setTimeout(() => failing.destroy(new Error('client gone')), 20);
    await expect(result).resolves.toStrictEqual({ exitCode: 0, signal: null });
    expect(run.sink.text()).toBe('Content-Type: text/plain\r\n\r\npart');
  });

  it('keeps the child running to the end when the destination fails', async () => {
    const failing = new Writable({
      highWaterMark: 1024,
      write(_chunk, _encoding, callback) {
        callback(new Error('client gone'));
      },
    });
    const run = request('big.py', body(1024), failing);
    await expect(execRuntime(run.req)).resolves.toStrictEqual({ exitCode: 0, signal: null });
    expect(failing.destroyed).toBe(true);
  });

  it('does not hang on a stalled destination once aborted', async () => {
    const stalled = new Writable({ highWaterMark: 1024, write: () => undefined });
    const run = request('big.py', body(0), stalled);
    const result = createExecRuntime({ killGraceMs: 100 })(run.req);
    await until(() => stalled.writableNeedDrain);
    run.abort.abort();
    await expect(result).resolves.toMatchObject({ exitCode: null });
  });
});

describe('execRuntime spawn failures', () => {
  const expectSpawnError = async (runtime: Runtime, script: string, detail: RegExp): Promise<void> => {
    const run = request(script);
    const error: unknown = await runtime(run.req).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CgiError);
    expect(error).toMatchObject({ code: ErrorCode.ERR_CGI_SPAWN, scriptFilename: join(dir, script) });
    expect((error as CgiError).message).toMatch(detail);
  };

  it('rejects ERR_CGI_SPAWN for a missing interpreter', async () => {
    await expectSpawnError(
      execRuntime,
      'no-interpreter.sh',
      /^cgi: spawn failed: .*no-interpreter\.sh: .*ENOENT/,
    );
  });

  it('rejects ERR_CGI_SPAWN for a missing script and a non-executable one', async () => {
    await expectSpawnError(execRuntime, 'missing.sh', /ENOENT/);
    await expectSpawnError(execRuntime, 'not-executable.sh', /EACCES/);
  });

  it('rejects ERR_CGI_SPAWN when spawn throws', async () => {
    const throwing: SpawnFunction = () => {
      throw new TypeError('bad env');
    };
    await expectSpawnError(createExecRuntime({ spawn: throwing }), 'echo.sh', /bad env$/);
    const throwingValue: SpawnFunction = () => {
      throw 'odd' as unknown as Error;
    };
    await expectSpawnError(createExecRuntime({ spawn: throwingValue }), 'echo.sh', /: odd$/);
  });

  it('passes detached, cwd, env and no arguments to spawn', async () => {
    const calls: Parameters<SpawnFunction>[] = [];
    const recording: SpawnFunction = (...args) => {
      calls.push(args);
      return spawn(...args);
    };
    const run = request('echo.sh');
    await createExecRuntime({ spawn: recording })(run.req);
    expect(calls).toStrictEqual([
      [
        join(dir, 'echo.sh'),
        [],
        { cwd: dir, env: run.req.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] },
      ],
    ]);
  });

  it('rejects a child without pipes with a TypeError', async () => {
    const pipeless: SpawnFunction = () =>
      Object.assign(new EventEmitter(), { stdout: null }) as unknown as ChildProcess;
    const run = request('echo.sh', new PassThrough());
    await expect(createExecRuntime({ spawn: pipeless })(run.req)).rejects.toThrow(TypeError);
  });
});
