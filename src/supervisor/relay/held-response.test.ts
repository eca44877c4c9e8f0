// This file implements the tests of held-response.ts from the perspective of a relayed request
// (relay-request.ts drives it): no FCGI_STDOUT byte reaches the web server before the empty
// FCGI_STDIN record unless the worker has ended the request, STDERR is not held, END_REQUEST
// follows the held output, and an answer or an abort drops what was held.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import { RecordType } from '../../fastcgi/constants.ts';
import { NameValueDecoder } from '../../fastcgi/name-value.ts';
import { RecordParser } from '../../fastcgi/parser.ts';
import { HOLD_MEMORY_BYTES } from '../../fastcgi/output-hold.ts';
import { RelayRequest, type RequestHandler } from './relay-request.ts';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-held-test-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const NAMES: Record<number, string> = {
  [RecordType.FCGI_STDOUT]: 'stdout', [RecordType.FCGI_STDERR]: 'stderr', [RecordType.FCGI_END_REQUEST]: 'end',
};

interface Web extends RequestHandler {
  /** `type id length` per record written, and handler calls. */
  readonly log: string[];
  /** The FCGI_STDOUT content written, in order. */
  readonly stdout: Buffer[];
}

function web(): Web {
  const log: string[] = [];
  const stdout: Buffer[] = [];
  const parser = new RecordParser((r) => {
    log.push(`${NAMES[r.type] ?? String(r.type)} ${r.requestId} ${r.content.length}`);
    if (r.type === RecordType.FCGI_STDOUT) stdout.push(Buffer.from(r.content));
  });
  return {
    log, stdout, tempPath: dir,
    write: (buffers) => { parser.push(Buffer.concat(buffers)); return true; },
    cork: () => undefined, uncork: () => undefined, onDrain: (resume) => { resume(); },
    pauseInput: () => undefined, resumeInput: () => undefined,
    finished: (r) => log.push(`finished ${r.requestId}`),
    answer: (r, status, _page, headersSent) => log.push(`answer ${r.requestId} ${status} ${headersSent}`),
    holdFailed: (_r, err) => log.push(`hold failed ${err.message}`),
    reroute: (r) => log.push(`reroute ${r.requestId}`),
  };
}

function running(h: RequestHandler, upstream: string[] = []): RelayRequest {
  const request = new RelayRequest(5, true, h, 0);
  request.routing(new NameValueDecoder().finish());
  request.routed({ pool: testPoolConfig(), scriptFilename: Buffer.from('/srv/a'), pathInfo: Buffer.alloc(0) });
  request.assign({ stdin: (c) => upstream.push(`stdin ${c.length}`), abort: () => upstream.push('abort') });
  return request;
}

/** Relays `content` as the worker channel does: waits when told to. */
async function output(request: RelayRequest, type: number, content: Buffer): Promise<void> {
  if (!request.output(type, content)) await new Promise<void>((resume) => { request.onDrain(resume); });
}

describe('a held response', () => {
  it('sends no STDOUT before the body ends, STDERR at once, then the held output in order', async () => {
    const h = web();
    const request = running(h);
    request.stdin(Buffer.from('part of the body'));
    await output(request, RecordType.FCGI_STDOUT, Buffer.from('Content-Type: text/plain\r\n\r\n'));
    await output(request, RecordType.FCGI_STDERR, Buffer.from('warn'));
    await output(request, RecordType.FCGI_STDOUT, Buffer.from('read 16'));
    expect(h.log).toEqual(['stderr 5 4']);
    expect(request.stdoutBytes).toBe(0);
    request.stdin(Buffer.alloc(0));
    await expect.poll(() => h.log.length).toBe(2);
    expect(Buffer.concat(h.stdout).toString()).toBe('Content-Type: text/plain\r\n\r\nread 16');
    await output(request, RecordType.FCGI_STDOUT, Buffer.from(' more'));
    await output(request, RecordType.FCGI_STDOUT, Buffer.alloc(0));
    request.ended(Buffer.alloc(8));
    expect(h.log.slice(2)).toEqual(['stdout 5 5', 'stdout 5 0', 'end 5 8', 'finished 5']);
    expect(request.state).toBe('finished');
  });

  it('releases when the worker ends the request first (its body unread), END_REQUEST after the output', async () => {
    const h = web();
    const request = running(h);
    const pieces = Array.from({ length: 40 }, (_, n) => Buffer.alloc(65_000, n));
    for (const p of pieces) await output(request, RecordType.FCGI_STDOUT, p);
    await output(request, RecordType.FCGI_STDOUT, Buffer.alloc(0));
    expect(h.log).toEqual([]);
    request.ended(Buffer.alloc(8));
    expect(request.state).toBe('releasing');
    request.stdin(Buffer.from('the rest of the body is dropped'));
    await expect.poll(() => request.state).toBe('finished');
    expect(Buffer.concat(h.stdout).equals(Buffer.concat(pieces))).toBe(true);
    expect(h.log.slice(-3)).toEqual(['stdout 5 0', 'end 5 8', 'finished 5']);
    expect(await readdir(dir)).toEqual([]);
  });

  it('drops what it held when the supervisor answers (the web server gets the answer, not a cut head)', async () => {
    const h = web();
    const request = running(h);
    await output(request, RecordType.FCGI_STDOUT, Buffer.alloc(HOLD_MEMORY_BYTES + 100, 0x61));
    request.answer(504, Buffer.from('Status: 504\r\n\r\n'));
    request.stdin(Buffer.alloc(0));
    await output(request, RecordType.FCGI_STDOUT, Buffer.from('late'));
    request.ended(Buffer.alloc(8));
    expect(h.log).toEqual(['answer 5 504 false']);
  });

  it('drops what it held on an abort; the worker is told, and after its END_REQUEST nothing more goes out', async () => {
    const h = web();
    const upstream: string[] = [];
    const request = running(h, upstream);
    await output(request, RecordType.FCGI_STDOUT, Buffer.from('head'));
    expect(request.abort()).toBe('active');
    request.ended(Buffer.alloc(8));
    expect(upstream).toEqual(['abort']);
    expect(h.log).toEqual(['end 5 8', 'finished 5']);
    expect(h.stdout).toEqual([]);
  });

  it('an abort while releasing drops the rest (the connection owes the END_REQUEST)', async () => {
    const h = web();
    const request = running(h);
    for (let n = 0; n < 3; n++) await output(request, RecordType.FCGI_STDOUT, Buffer.alloc(60_000, n));
    request.ended(Buffer.alloc(8));
    expect(request.abort()).toBe('releasing');
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.log.filter((l) => l.startsWith('end') || l.startsWith('finished'))).toEqual([]);
    expect(request.state).toBe('finished');
  });

  it('answers 500 and aborts the worker when the spill file cannot be made', async () => {
    const h = { ...web(), tempPath: join(dir, 'missing') };
    const upstream: string[] = [];
    const request = running(h, upstream);
    for (let n = 0; n < 3 && request.state === 'active'; n++) request.output(RecordType.FCGI_STDOUT, Buffer.alloc(60_000, n));
    await expect.poll(() => h.log.length).toBe(2);
    expect(h.log[0]).toMatch(/^hold failed ENOENT/);
    expect(h.log[1]).toBe('answer 5 500 false');
    expect(upstream).toEqual(['abort']);
  });
});
