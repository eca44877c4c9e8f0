// This file implements the tests of the responder connection's streams from the perspective of a
// web server on a real unix socket: a body never read (lingering close, audit A-4), client aborts
// STDIN backpressure, STDOUT backpressure, big responses in aligned records without
// copies, and a half-open transport.
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FCGI_KEEP_CONN, RecordType } from '../fastcgi/constants.ts';
import { decodeEndRequestBody } from '../fastcgi/record.ts';
import { encodeStream } from '../fastcgi/writer.ts';
import {
  begin,
  open,
  params,
  poll,
  readAll,
  record,
  stream,
  type Harness,
} from './fcgi-connection-test-peer.ts';

const { FCGI_STDIN, FCGI_STDOUT, FCGI_END_REQUEST, FCGI_ABORT_REQUEST } = RecordType;
const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.dispose()));
});
async function setup(...args: Parameters<typeof open>): Promise<Harness> {
  const h = await open(...args);
  harnesses.push(h);
  return h;
}
function pattern(bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}
const ends = (h: Harness): number => h.peer.of(FCGI_END_REQUEST).length;
const sleep = (ms: number): Promise<'timeout'> =>
  new Promise((resolve) => {
    setTimeout(() => {
      resolve('timeout');
    }, ms);
  });

describe('FcgiResponderConnection streams', () => {
  it('answers without reading a 1 MiB body: full response, FIN, input drained, no reset (audit A-4)', async () => {
    const h = await setup();
    const request = Buffer.concat([
      begin(1),
      params(1, { REQUEST_METHOD: 'POST' }),
      stream(FCGI_STDIN, 1, pattern(1 << 20), 32768),
    ]);
    const written = new Promise<Error | null | undefined>((resolve) => {
      h.peer.socket.write(request, resolve);
    });
    const req = await h.request();
    req.stdout.write('Status: 413 Content Too Large\r\n\r\n');
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(h.peer.text(FCGI_STDOUT, 1).toString()).toBe('Status: 413 Content Too Large\r\n\r\n');
    expect(ends(h)).toBe(1);
    expect(await written).toBeFalsy();
    h.peer.socket.end();
    await h.closed;
    expect(h.peer.errors).toEqual([]);
  });

  it('discards the unread rest of a body instead of giving it to the next request (KEEP_CONN)', async () => {
    const h = await setup();
    h.peer.send(begin(1, FCGI_KEEP_CONN), params(1), record(FCGI_STDIN, 1, Buffer.from('first-part')));
    (await h.request(0)).end();
    await h.peer.until(() => ends(h) === 1);
    h.peer.send(record(FCGI_STDIN, 1, Buffer.from('first-rest')), record(FCGI_STDIN, 1));
    h.peer.send(begin(1, FCGI_KEEP_CONN), params(1), stream(FCGI_STDIN, 1, 'second'));
    const second = await h.request(1);
    expect((await readAll(second.stdin)).toString()).toBe('second');
  });

  it('aborts when the web server closes mid-request: stdin ends, no hang, no exception, close (audit A-7)', async () => {
    const h = await setup();
    h.peer.send(begin(1), params(1), record(FCGI_STDIN, 1, Buffer.from('partial')));
    const req = await h.request();
    const aborted = once(req.signal, 'abort');
    h.peer.socket.destroy();
    await aborted;
    await h.closed;
    expect((await readAll(req.stdin)).toString()).toBe('partial');
    req.stdout.write('nobody listens');
    req.writeStderr('nor here');
    req.end();
    await finished(req.stdout);
  });

  it('does not hang a response blocked on backpressure when the web server goes away', async () => {
    const h = await setup();
    h.peer.socket.pause();
    h.peer.send(begin(1), params(1), stream(FCGI_STDIN, 1, ''));
    const req = await h.request();
    for (let i = 0; i < 16; i++) req.stdout.write(pattern(1 << 20));
    req.end();
    expect(await Promise.race([finished(req.stdout), sleep(50)])).toBe('timeout');
    h.peer.socket.destroy();
    await h.closed;
    await finished(req.stdout);
    expect(req.signal.aborted).toBe(false); // it had ended already: the abort is not reported
  });

  it('applies socket backpressure to stdout and delivers 1 MiB byte-exact in aligned records', async () => {
    const h = await setup();
    h.peer.socket.pause();
    h.peer.send(begin(1), params(1), stream(FCGI_STDIN, 1, ''));
    const req = await h.request();
    const data = pattern((1 << 20) + 5);
    expect(req.stdout.write(data)).toBe(false);
    const drained = once(req.stdout, 'drain');
    expect(await Promise.race([drained, sleep(50)])).toBe('timeout');
    h.peer.socket.resume();
    await drained;
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(h.peer.text(FCGI_STDOUT, 1).equals(data)).toBe(true);
    const sizes = h.peer.of(FCGI_STDOUT, 1).map((r) => r.content.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(65528);
    expect(sizes.at(-1)).toBe(0);
    expect(h.peer.records.at(-1)?.type).toBe(FCGI_END_REQUEST);
    expect(ends(h)).toBe(1);
  });

  /** Records each batch the socket writes (a snapshot: the stream clears its entries after the call). */
  function spyBatches(socket: Harness['socket']): Buffer[][] {
    const batches: Buffer[][] = [];
    const writev = socket._writev!.bind(socket);
    socket._writev = (entries, callback) => {
      batches.push(entries.map((e) => e.chunk as Buffer));
      writev(entries, callback);
    };
    return batches;
  }

  it('writes the stdout and the end of a request that ends at once in one writev', async () => {
    const h = await setup();
    h.peer.send(begin(1), params(1), stream(FCGI_STDIN, 1, ''));
    const req = await h.request();
    const batches = spyBatches(h.socket);
    const write = vi.spyOn(h.socket, '_write');
    req.stdout.write(Buffer.alloc(1000, 7));
    expect(batches).toHaveLength(0); // held until the end or the next turn of the loop
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(write).not.toHaveBeenCalled();
    expect(batches.map((chunks) => chunks.map((c) => c.length))).toEqual([[8, 1000, 8, 16]]);
  });

  it('writes a large stdout write as one corked writev of header and payload slices', async () => {
    const h = await setup();
    h.peer.send(begin(1), params(1), stream(FCGI_STDIN, 1, ''));
    const req = await h.request();
    const batches = spyBatches(h.socket);
    const write = vi.spyOn(h.socket, '_write');
    const data = Buffer.alloc(100_000, 7);
    req.stdout.write(data);
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(write).not.toHaveBeenCalled();
    const chunks = batches[0]!;
    expect(chunks.map((c) => c.length)).toEqual([8, 65528, 8, 100_000 - 65528]);
    expect(chunks[1]!.buffer).toBe(data.buffer);
    expect(h.peer.text(FCGI_STDOUT, 1).equals(data)).toBe(true);
  });

  it('sends held stdout within a turn of the event loop when the request goes on', async () => {
    const h = await setup();
    h.peer.send(begin(1), params(1), stream(FCGI_STDIN, 1, ''));
    const req = await h.request();
    const batches = spyBatches(h.socket);
    req.stdout.write('first');
    await new Promise((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));
    expect(batches).toHaveLength(1);
    await h.peer.until(() => h.peer.text(FCGI_STDOUT, 1).toString() === 'first');
    req.stdout.write('second');
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(batches).toHaveLength(2);
    expect(h.peer.text(FCGI_STDOUT, 1).toString()).toBe('firstsecond');
  });

  it('stops reading the socket while stdin is over its highWaterMark, and delivers the whole body (audit A-9)', async () => {
    const h = await setup({ stdinHighWaterMarkBytes: 16384 });
    const body = pattern(4 << 20);
    h.peer.send(begin(1), params(1, { REQUEST_METHOD: 'POST' }), stream(FCGI_STDIN, 1, body, 32768));
    const req = await h.request();
    await poll(() => h.socket.isPaused());
    await sleep(20);
    expect(req.stdin.readableLength).toBeLessThanOrEqual(16384 + 65536 + 32768);
    expect(h.peer.socket.writableLength).toBeGreaterThan(1 << 20);
    expect((await readAll(req.stdin)).equals(body)).toBe(true);
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(ends(h)).toBe(1);
  });

  it('sees an ABORT_REQUEST queued behind a paused body once the handler reads', async () => {
    const h = await setup({ stdinHighWaterMarkBytes: 1024 });
    const body = pattern(1 << 20);
    h.peer.send(begin(1), params(1), ...encodeStream(FCGI_STDIN, 1, body), record(FCGI_ABORT_REQUEST, 1));
    const req = await h.request();
    await poll(() => h.socket.isPaused());
    expect(req.signal.aborted).toBe(false);
    const got = await readAll(req.stdin);
    expect(req.signal.aborted).toBe(true);
    expect(got.equals(body)).toBe(true);
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(ends(h)).toBe(1);
  });

  it('resumes a paused socket when the handler ends without reading, and sees EOF', async () => {
    const h = await setup({ stdinHighWaterMarkBytes: 1024 });
    const request = Buffer.concat([begin(1), params(1), stream(FCGI_STDIN, 1, pattern(4 << 20), 32768)]);
    const written = new Promise<Error | null | undefined>((resolve) => {
      h.peer.socket.write(request, resolve);
    });
    const req = await h.request();
    await poll(() => h.socket.isPaused());
    req.stdout.write('Status: 413\r\n\r\n');
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(await written).toBeFalsy();
    h.peer.socket.end();
    await h.closed;
    expect(h.peer.errors).toEqual([]);
    expect(ends(h)).toBe(1);
  });

  it('on a half-open transport, aborts at EOF, drops later output and still sends END_REQUEST', async () => {
    const h = await setup({}, { allowHalfOpen: true });
    h.peer.send(begin(1), params(1), stream(FCGI_STDIN, 1, 'body'));
    const req = await h.request();
    req.stdout.write('early answer');
    h.peer.socket.end();
    await once(req.signal, 'abort');
    expect((await readAll(req.stdin)).toString()).toBe('body');
    req.stdout.write('dropped');
    req.end();
    await h.peer.until(() => h.peer.ended);
    await h.closed;
    expect(h.peer.text(FCGI_STDOUT, 1).toString()).toBe('early answer');
    expect(h.peer.of(FCGI_END_REQUEST).map((r) => decodeEndRequestBody(r.content))).toEqual([
      { appStatus: 0, protocolStatus: 0 },
    ]);
  });
});
