// This file implements the tests of fcgi-connection.ts from the perspective of a web server on a
// real unix socket: one request at a time, KEEP_CONN, GET_VALUES, unknown types and ids, aborts and
// protocol errors. Each node-fastcgi failure (audit A-1..A-9) has a regression test here or in
// fcgi-connection-streams.test.ts.
import { describe, expect, it } from 'vitest';
import { FCGI_KEEP_CONN, ProtocolStatus, RecordType, Role } from '../fastcgi/constants.ts';
import { encodeNameValuePairs } from '../fastcgi/name-value.ts';
import { begin, params, readAll, record, stream, endBodies, harnessSuite } from './fcgi-connection-test-peer.ts';

const { FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR, FCGI_END_REQUEST, FCGI_ABORT_REQUEST, FCGI_PARAMS } =
  RecordType;
const setup = harnessSuite();
const ends = endBodies;

describe('FcgiResponderConnection', () => {
  it('serves one request and closes after it without KEEP_CONN', async () => {
    const h = await setup();
    h.peer.send(
      begin(1),
      params(1, { REQUEST_METHOD: 'POST', SCRIPT_FILENAME: '/srv/a.cgi' }),
      stream(FCGI_STDIN, 1, 'hello'),
    );
    const req = await h.request();
    expect(req).toMatchObject({ requestId: 1, keepConn: false });
    expect(req.params).toEqual(
      new Map([
        ['REQUEST_METHOD', 'POST'],
        ['SCRIPT_FILENAME', '/srv/a.cgi'],
      ]),
    );
    expect((await readAll(req.stdin)).toString()).toBe('hello');
    req.stdout.write('Status: 200 OK\r\n\r\nhi');
    req.end(3);
    await h.peer.until(() => h.peer.ended);
    expect(h.peer.records.map((r) => r.type)).toEqual([FCGI_STDOUT, FCGI_STDOUT, FCGI_END_REQUEST]);
    expect(h.peer.text(FCGI_STDOUT, 1).toString()).toBe('Status: 200 OK\r\n\r\nhi');
    expect(ends(h)).toEqual([{ appStatus: 3, protocolStatus: ProtocolStatus.FCGI_REQUEST_COMPLETE }]);
    h.peer.socket.end();
    await h.closed;
    expect(h.peer.errors).toEqual([]);
  });

  it('serves two sequential requests on one connection with KEEP_CONN (audit A-5)', async () => {
    const h = await setup();
    h.peer.send(begin(1, FCGI_KEEP_CONN), params(1), stream(FCGI_STDIN, 1, ''));
    const first = await h.request(0);
    expect(first.keepConn).toBe(true);
    first.stdout.write('one');
    first.end();
    await h.peer.until(() => ends(h).length === 1);
    h.peer.send(begin(1, FCGI_KEEP_CONN), params(1, { N: '2' }), stream(FCGI_STDIN, 1, ''));
    const second = await h.request(1);
    expect(second.params.get('N')).toBe('2');
    second.stdout.end('two');
    second.end();
    await h.peer.until(() => ends(h).length === 2);
    expect(h.peer.text(FCGI_STDOUT, 1).toString()).toBe('onetwo');
    expect(h.peer.ended).toBe(false);
  });

  it("emits 'idle' once END_REQUEST is written: ending the socket then loses nothing", async () => {
    const h = await setup();
    let idles = 0;
    h.connection.on('idle', () => {
      idles += 1;
      h.socket.end();
    });
    h.peer.send(begin(1, FCGI_KEEP_CONN), params(1), stream(FCGI_STDIN, 1, ''));
    const req = await h.request();
    expect(h.connection.idle).toBe(false);
    req.stdout.write('body');
    req.end();
    expect(idles).toBe(0);
    await h.peer.until(() => h.peer.ended);
    expect(idles).toBe(1);
    expect(h.connection.idle).toBe(true);
    expect(h.peer.text(FCGI_STDOUT, 1).toString()).toBe('body');
    expect(ends(h)).toEqual([{ appStatus: 0, protocolStatus: ProtocolStatus.FCGI_REQUEST_COMPLETE }]);
  });

  it('aborts on FCGI_ABORT_REQUEST and sends exactly one END_REQUEST after end()', async () => {
    const h = await setup();
    h.peer.send(begin(1, FCGI_KEEP_CONN), params(1), record(FCGI_STDIN, 1, Buffer.from('part')));
    const req = await h.request();
    const aborted = new Promise((resolve) => {
      req.signal.addEventListener('abort', resolve);
    });
    h.peer.send(record(FCGI_ABORT_REQUEST, 1));
    await aborted;
    expect(req.signal.reason).toMatchObject({ name: 'AbortError' });
    expect((await readAll(req.stdin)).toString()).toBe('part');
    req.stdout.write('dropped after the abort');
    req.writeStderr('dropped too');
    req.end();
    req.end(5);
    await h.peer.until(() => ends(h).length === 1);
    h.peer.send(record(FCGI_ABORT_REQUEST, 1), begin(2), params(2), stream(FCGI_STDIN, 2, ''));
    (await h.request(1)).end();
    await h.peer.until(() => h.peer.ended);
    expect(ends(h, 1)).toEqual([{ appStatus: 0, protocolStatus: ProtocolStatus.FCGI_REQUEST_COMPLETE }]);
    expect(ends(h, 2)).toHaveLength(1);
    expect(h.peer.text(FCGI_STDOUT, 1).length).toBe(0);
    expect(h.peer.of(FCGI_STDERR)).toEqual([]);
  });

  it('tells onAbort listeners (not removed ones, and late ones at once) and a signal made after the abort', async () => {
    const h = await setup();
    h.peer.send(begin(1, FCGI_KEEP_CONN), params(1));
    const req = await h.request();
    const calls: string[] = [];
    req.onAbort(() => calls.push('first'));
    const remove = req.onAbort(() => calls.push('removed'));
    remove();
    expect(req.aborted).toBe(false);
    const aborted = new Promise<void>((resolve) => req.onAbort(resolve));
    h.peer.send(record(FCGI_ABORT_REQUEST, 1));
    await aborted;
    expect(req.aborted).toBe(true);
    expect(calls).toEqual(['first']);
    req.onAbort(() => calls.push('late'));
    expect(calls).toEqual(['first', 'late']);
    // The signal, first read after the abort, is aborted with the same reason.
    expect(req.signal.aborted).toBe(true);
    expect(req.signal.reason).toMatchObject({ name: 'AbortError' });
    req.end();
    await h.peer.until(() => ends(h).length === 1);
  });

  it('answers an ABORT_REQUEST that comes before the params end, without a request', async () => {
    const h = await setup();
    h.peer.send(
      begin(4),
      record(FCGI_PARAMS, 4, encodeNameValuePairs([['A', 'b']])),
      record(FCGI_ABORT_REQUEST, 4),
    );
    await h.peer.until(() => h.peer.ended);
    expect(ends(h, 4)).toEqual([{ appStatus: 0, protocolStatus: ProtocolStatus.FCGI_REQUEST_COMPLETE }]);
    expect(h.requests).toEqual([]);
  });

  it('refuses a second BEGIN_REQUEST while busy with FCGI_CANT_MPX_CONN; the first is unaffected (audit A-8)', async () => {
    const h = await setup();
    h.peer.send(begin(1), params(1), record(FCGI_STDIN, 1, Buffer.from('aaa')));
    const req = await h.request();
    h.peer.send(
      begin(2, FCGI_KEEP_CONN),
      params(2),
      record(FCGI_STDIN, 2, Buffer.from('zzz')),
      record(RecordType.FCGI_DATA, 1, Buffer.from('data')),
      record(FCGI_STDIN, 1, Buffer.from('bbb')),
      record(FCGI_STDIN, 2),
      record(FCGI_STDIN, 1),
    );
    expect((await readAll(req.stdin)).toString()).toBe('aaabbb');
    await h.peer.until(() => ends(h, 2).length === 1);
    expect(ends(h, 2)).toEqual([{ appStatus: 0, protocolStatus: ProtocolStatus.FCGI_CANT_MPX_CONN }]);
    req.stdout.write('ok');
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(ends(h, 1)).toEqual([{ appStatus: 0, protocolStatus: 0 }]);
    expect(ends(h, 2)).toHaveLength(1);
    expect(h.requests).toHaveLength(1);
  });

  it.each([
    ['FCGI_AUTHORIZER', Role.FCGI_AUTHORIZER],
    ['FCGI_FILTER', Role.FCGI_FILTER],
    ['role 0', 0],
  ])('answers %s with FCGI_UNKNOWN_ROLE and ignores its records', async (_name, role) => {
    const h = await setup();
    h.peer.send(begin(1, FCGI_KEEP_CONN, role), params(1), stream(FCGI_STDIN, 1, 'x'));
    h.peer.send(begin(2), params(2), stream(FCGI_STDIN, 2, ''));
    const req = await h.request();
    expect(req.requestId).toBe(2);
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(ends(h, 1)).toEqual([{ appStatus: 0, protocolStatus: ProtocolStatus.FCGI_UNKNOWN_ROLE }]);
    expect(h.requests).toHaveLength(1);
  });
});
