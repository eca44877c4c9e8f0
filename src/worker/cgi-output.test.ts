import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { CgiError, ErrorCode } from '../errors.ts';
import { CgiOutput, type CgiExit } from './cgi-output.ts';
import { execRuntime } from './runtimes/exec.ts';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** A destination recording each write; async callbacks and a tiny buffer unless told. */
class Destination extends Writable {
  readonly writes: Buffer[] = [];
  readonly stall: boolean;
  constructor(highWaterMark = 1, stall = false) {
    super({ highWaterMark });
    this.stall = stall;
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writes.push(chunk);
    if (!this.stall) setImmediate(callback);
  }
  text(): string {
    return Buffer.concat(this.writes).toString('latin1');
  }
}

const write = (stream: Writable, chunk: Buffer): Promise<void> =>
  new Promise((resolve, reject) => {
    stream.write(chunk, (err) => {
      if (err) reject(err);
      else resolve();
    });
  });

describe('CgiOutput', () => {
  it('holds bytes until the head is complete, then sends the normalized head and the body', async () => {
    const destination = new Destination(1024);
    const output = new CgiOutput(destination);
    await write(output, bytes('Content-Type: text/plain\nX-A: 1'));
    expect(output.headersSent).toBe(false);
    expect(output.head).toBeUndefined();
    expect(destination.writes).toHaveLength(0);
    await write(output, bytes('\n\nhello '));
    expect(output.headersSent).toBe(true);
    await write(output, bytes('world'));
    await write(output, Buffer.alloc(0));
    const head = await output.finish({ exitCode: 0 });
    await new Promise<void>((resolve) => destination.end(resolve));
    expect(head).toStrictEqual({
      status: 200,
      reason: 'OK',
      headers: [
        ['Content-Type', 'text/plain'],
        ['X-A', '1'],
      ],
    });
    expect(output.head).toBe(head);
    expect(destination.writes.map((w) => w.toString('latin1'))).toStrictEqual([
      'Status: 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\nhello ',
      'world',
    ]);
  });

  it('keeps a local redirect without a Status line', async () => {
    const destination = new Destination(1024);
    const output = new CgiOutput(destination);
    output.end(bytes('Location: /elsewhere\r\n\r\n'));
    await output.finish();
    expect(destination.text()).toBe('Location: /elsewhere\r\n\r\n');
  });

  it('sends a large first body piece as its own write', async () => {
    const destination = new Destination(1024);
    const output = new CgiOutput(destination);
    const body = Buffer.alloc(20_000, 0x61);
    output.end(Buffer.concat([bytes('Status: 201\r\n\r\n'), body]));
    await output.finish();
    expect(destination.writes.map((w) => w.length)).toStrictEqual([
      'Status: 201 Created\r\n\r\n'.length,
      20_000,
    ]);
  });

  it('streams 1 MiB with backpressure, in order', async () => {
    const destination = new Destination(1);
    const output = new CgiOutput(destination);
    const pieces = [bytes('Content-Type: application/octet-stream\r\n\r\n')];
    for (let i = 0; i < 256; i++) pieces.push(Buffer.alloc(4096, i));
    await pipeline(Readable.from(pieces), output);
    await output.finish();
    const sent = Buffer.concat(destination.writes);
    const head = 'Status: 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n';
    expect(sent.subarray(0, head.length).toString('latin1')).toBe(head);
    expect(sent.subarray(head.length).equals(Buffer.concat(pieces.slice(1)))).toBe(true);
    expect(destination.writableEnded).toBe(false);
  });

  it.each<[CgiExit | undefined, string]>([
    [{ exitCode: 1 }, 'exit code 1'],
    [{ exitCode: null, signal: 'SIGKILL' }, 'killed by SIGKILL'],
    [undefined, 'output ended'],
  ])('reports a missing head on finish(%j)', async (exit, how) => {
    const destination = new Destination();
    const output = new CgiOutput(destination, { scriptFilename: '/srv/cgi/a.py' });
    await write(output, bytes('partial'));
    const error: unknown = await output.finish(exit).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CgiError);
    expect(error).toMatchObject({
      code: ErrorCode.ERR_CGI_NO_HEADERS,
      message: `cgi: no cgi headers: ${how} after 7 bytes without a blank line`,
      scriptFilename: '/srv/cgi/a.py',
      exitCode: exit?.exitCode ?? null,
      signal: exit?.signal ?? null,
    });
    expect(output.headersSent).toBe(false);
    expect(destination.writes).toHaveLength(0);
  });

  it('reports bad headers on finish and refuses later writes without throwing', async () => {
    const output = new CgiOutput(new Destination(), { scriptFilename: '/srv/cgi/a.py' });
    await expect(write(output, bytes('hello world\n\nbody'))).rejects.toMatchObject({
      code: ErrorCode.ERR_CGI_BAD_HEADERS,
    });
    await expect(write(output, bytes('more'))).rejects.toThrow();
    await expect(output.finish()).rejects.toMatchObject({
      code: ErrorCode.ERR_CGI_BAD_HEADERS,
      scriptFilename: '/srv/cgi/a.py',
    });
    expect(output.headersSent).toBe(false);
  });

  it('reports a head larger than maxHeadBytes', async () => {
    const output = new CgiOutput(new Destination(), { maxHeadBytes: 8 });
    output.write(bytes('X-Long: 123456789'));
    await expect(output.finish()).rejects.toMatchObject({ code: ErrorCode.ERR_CGI_NO_HEADERS });
  });

  it('fails pending writes when the destination closes or errors while full', async () => {
    for (const end of [(d: Writable) => d.destroy(), (d: Writable) => d.destroy(new Error('boom'))]) {
      const destination = new Destination(1, true);
      destination.on('error', () => undefined);
      const output = new CgiOutput(destination);
      const pending = write(output, bytes('A: 1\r\n\r\nbody'));
      end(destination);
      await expect(pending).rejects.toThrow(/destination closed before draining|boom/);
      await expect(output.finish()).rejects.toThrow();
    }
  });

  it('fails at once when the destination is already destroyed', async () => {
    const destination = new Destination(1);
    destination.destroy();
    const output = new CgiOutput(destination);
    await expect(write(output, bytes('A: 1\r\n\r\n'))).rejects.toThrow(
      'cgi: output: destination closed before draining',
    );
  });

  it('reports the exit code of a real script that printed no head', async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'cgi-fpm-output-'));
    try {
      const script = join(dir, 'fail.sh');
      await fsp.writeFile(script, '#!/bin/sh\necho oops\nexit 3\n', { mode: 0o755 });
      const output = new CgiOutput(new Destination(), { scriptFilename: script });
      const exit = await execRuntime({
        scriptFilename: script,
        cwd: dir,
        env: {},
        stdin: Readable.from([]),
        stdout: output,
        onStderrLine: () => undefined,
        signal: new AbortController().signal,
      });
      await expect(output.finish(exit)).rejects.toMatchObject({
        code: ErrorCode.ERR_CGI_NO_HEADERS,
        exitCode: 3,
        message: 'cgi: no cgi headers: exit code 3 after 5 bytes without a blank line',
      });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
