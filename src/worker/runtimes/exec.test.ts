import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgiError, ErrorCode } from '../../errors.ts';
import { createExecRuntime, execRuntime, type SpawnFunction } from './exec.ts';
import { openScript } from '../script-file.ts';
import type { Runtime, RuntimeRequest } from './types.ts';

let dir = '';
const sleepers: number[] = [];

const scripts: Record<string, string> = {
  'echo.sh': "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nexec cat\n",
  'env.pl':
    '#!/usr/bin/perl\nuse Cwd;\nprint join("|", getcwd(), $ENV{X}, scalar(@ARGV), join(",", sort keys %ENV));\n',
  'ignore.sh': "#!/bin/sh\nprintf 'Status: 204 No Content\\r\\n\\r\\n'\n",
  'big.py': [
    '#!/usr/bin/python3',
    'import hashlib, sys',
    'out = sys.stdout.buffer',
    'block = bytes(range(256)) * 4096',
    'for _ in range(10): out.write(block)',
    'out.write(hashlib.sha256(sys.stdin.buffer.read()).hexdigest().encode())',
    '',
  ].join('\n'),
  'stderr.pl':
    '#!/usr/bin/perl\nbinmode STDERR;\n$| = 1;\nprint STDERR "one\\ntwo\\r\\nthr";\nprint STDERR "ee \\xc3\\xa9";\nprint "Status: 200 OK\\r\\n\\r\\n";\n',
  'group.sh': '#!/bin/sh\nsleep 100 &\necho "$!"\nwait\n',
  'stubborn.sh': '#!/bin/sh\ntrap \'\' TERM\nsleep 100 &\necho "$!"\nwait\n',
  'sleep.sh': '#!/bin/sh\nexec sleep 100\n',
  'stderr-holder.sh': '#!/bin/sh\nsleep 100 >/dev/null &\necho "$!"\n',
  'escape.sh': '#!/bin/sh\nsetsid sleep 100 &\necho "$!"\nwait\n',
  'no-interpreter.sh': '#!/nonexistent/interpreter\n',
  'dollar0.sh': '#!/bin/sh\necho "$0"\n',
};

beforeAll(async () => {
  dir = await fsp.realpath(await fsp.mkdtemp(join(tmpdir(), 'cgi-fpm-exec-')));
  for (const [name, text] of Object.entries(scripts))
    await fsp.writeFile(join(dir, name), text, { mode: 0o755 });
  await fsp.writeFile(join(dir, 'not-executable.sh'), '#!/bin/sh\n', { mode: 0o644 });
});

afterAll(async () => {
  for (const pid of sleepers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A destination that takes `delayMs`-long turns per write, with a small buffer. */
class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  constructor(highWaterMark = 16 * 1024) {
    super({ highWaterMark });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    setImmediate(callback);
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

interface Run {
  req: RuntimeRequest;
  sink: Sink;
  lines: string[];
  abort: AbortController;
}

function request(script: string, body: Readable = Readable.from([]), stdout: Writable = new Sink()): Run {
  const abort = new AbortController();
  const lines: string[] = [];
  const req: RuntimeRequest = {
    scriptFilename: join(dir, script),
    cwd: dir,
    env: { PATH: '/usr/bin:/bin', X: 'x-value' },
    stdin: body,
    stdout,
    onStderrLine: (line) => lines.push(line),
    signal: abort.signal,
  };
  return { req, sink: stdout instanceof Sink ? stdout : new Sink(), lines, abort };
}

/** A body of `total` bytes arriving in 32 KiB pieces, asynchronously (like FCGI_STDIN). */
function body(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      setImmediate(() => {
        if (sent >= total) return void this.push(null);
        const size = Math.min(32 * 1024, total - sent);
        this.push(Buffer.alloc(size, sent % 251));
        sent += size;
      });
    },
  });
}

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** True once `pid` no longer runs (gone, or a zombie waiting for its reaper). */
function isGone(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    return readFileSync(stat, 'latin1').replace(/^.*\)/, '').startsWith(' Z ');
  } catch {
    return true;
  }
}

const firstLinePid = (sink: Sink): number => Number(/^(\d+)\n/.exec(sink.text())?.[1] ?? NaN);

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
    const holder = firstLinePid(run.sink);
    sleepers.push(holder);
    // Resolved while the background child (sleep 100) still holds stderr.
    expect(isGone(holder)).toBe(false);
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

describe('exec through the checked descriptor (issue 10: swap races)', () => {
  /** Runs `dollar0.sh` from `where` with the descriptor the worker would pass; resolves with its $0. */
  async function dollar0(where: string): Promise<string> {
    const path = join(where, 'dollar0.sh');
    const opened = openScript(Buffer.from(path), 'execute');
    if (!('fd' in opened)) throw new Error(opened.reason);
    try {
      const run = request('dollar0.sh');
      await execRuntime({ ...run.req, scriptFilename: path, cwd: where, scriptFd: opened.fd });
      return run.sink.text().trim();
    } finally {
      closeSync(opened.fd);
    }
  }

  it('runs /proc/self/fd/3 when a directory on the path is writable by others', async () => {
    const shared = join(dir, 'shared');
    await fsp.mkdir(shared);
    await fsp.chmod(shared, 0o777);
    await fsp.copyFile(join(dir, 'dollar0.sh'), join(shared, 'dollar0.sh'));
    await fsp.chmod(join(shared, 'dollar0.sh'), 0o755);
    expect(await dollar0(shared)).toBe('/proc/self/fd/3');
  });

  it.runIf(process.getuid?.() === 0 && tmpdir() === '/tmp')('runs the path when only root can change it ($0 is the real name)', async () => {
    expect(await dollar0(dir)).toBe(join(dir, 'dollar0.sh'));
  });
});
