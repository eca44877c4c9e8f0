// This file implements the tests of fcgi-connection.ts from the perspective of a web server that
// sends management records, unknown types and ids, and reads STDERR and protocol errors (audit
// A-1..A-3 regressions; the first requests' tests are in fcgi-connection.test.ts).
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../errors.ts';
import { FCGI_KEEP_CONN, ProtocolStatus, RecordType, Role } from '../fastcgi/constants.ts';
import { encodeNameValuePairs, NameValueDecoder } from '../fastcgi/name-value.ts';
import { FcgiResponderConnection } from './fcgi-connection.ts';
import { begin, params, readAll, record, stream, endBodies, harnessSuite } from './fcgi-connection-test-peer.ts';

const { FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR, FCGI_END_REQUEST, FCGI_ABORT_REQUEST, FCGI_PARAMS } =
  RecordType;
const setup = harnessSuite();
const ends = endBodies;

describe('FcgiResponderConnection: management records, unknown types and ids, STDERR, errors', () => {
  it('closes after FCGI_UNKNOWN_ROLE without KEEP_CONN', async () => {
    const h = await setup();
    h.peer.send(begin(1, 0, Role.FCGI_AUTHORIZER), params(1));
    await h.peer.until(() => h.peer.ended);
    expect(ends(h, 1)).toEqual([{ appStatus: 0, protocolStatus: ProtocolStatus.FCGI_UNKNOWN_ROLE }]);
  });

  it('answers GET_VALUES at any time, with own names only: toString and constructor are unknown (audit A-2)', async () => {
    const h = await setup({ values: { FCGI_MAX_CONNS: '7', FCGI_MPXS_CONNS: '1', OTHER: 'x' } });
    const ask = encodeNameValuePairs(
      ['toString', 'constructor', '__proto__', 'FCGI_MPXS_CONNS', 'FCGI_MAX_CONNS', 'FCGI_MAX_REQS'].map(
        (n) => [n, ''],
      ),
    );
    h.peer.send(record(RecordType.FCGI_GET_VALUES, 0, ask));
    await h.peer.until(() => h.peer.records.length === 1);
    h.peer.send(begin(1), params(1), stream(FCGI_STDIN, 1, ''));
    const req = await h.request();
    h.peer.send(record(RecordType.FCGI_GET_VALUES, 0, ask));
    await h.peer.until(() => h.peer.records.length === 2);
    req.end();
    await h.peer.until(() => h.peer.ended);
    const results = h.peer.of(RecordType.FCGI_GET_VALUES_RESULT, 0);
    expect(results).toHaveLength(2);
    const decoder = new NameValueDecoder();
    decoder.push(results[0]!.content);
    expect([...decoder.end()]).toEqual([
      ['FCGI_MPXS_CONNS', '0'],
      ['FCGI_MAX_CONNS', '7'],
      ['FCGI_MAX_REQS', '1'],
    ]);
  });

  it('answers unknown record types and unknown management records with FCGI_UNKNOWN_TYPE (audit A-1)', async () => {
    const h = await setup();
    h.peer.send(
      record(12, 0, Buffer.from('x')),
      record(0, 1),
      record(200, 5, Buffer.alloc(300)),
      record(FCGI_STDIN, 0, Buffer.from('management?')),
      record(RecordType.FCGI_GET_VALUES_RESULT, 0),
    );
    h.peer.send(begin(1), params(1), stream(FCGI_STDIN, 1, ''));
    (await h.request()).end();
    await h.peer.until(() => h.peer.ended);
    const unknown = h.peer.of(RecordType.FCGI_UNKNOWN_TYPE, 0).map((r) => r.content[0]);
    expect(unknown).toEqual([12, 0, 200, FCGI_STDIN, RecordType.FCGI_GET_VALUES_RESULT]);
    expect(ends(h, 1)).toHaveLength(1);
  });

  it('emits one request for repeated empty PARAMS records (audit A-3)', async () => {
    const h = await setup();
    h.peer.send(begin(1), params(1, { A: '1' }), record(FCGI_PARAMS, 1), record(FCGI_PARAMS, 1));
    h.peer.send(record(FCGI_PARAMS, 1, encodeNameValuePairs([['A', '2']])), stream(FCGI_STDIN, 1, 'body'));
    const req = await h.request();
    expect((await readAll(req.stdin)).toString()).toBe('body');
    req.end();
    await h.peer.until(() => h.peer.ended);
    expect(h.requests).toHaveLength(1);
    expect(req.params.get('A')).toBe('1');
  });

  it('ignores records for unknown request ids and for a request after its END_REQUEST', async () => {
    const h = await setup();
    h.peer.send(
      record(FCGI_STDIN, 9, Buffer.from('x')),
      record(FCGI_ABORT_REQUEST, 9),
      record(FCGI_PARAMS, 9),
    );
    h.peer.send(begin(1, FCGI_KEEP_CONN), params(1), stream(FCGI_STDIN, 1, ''));
    (await h.request(0)).end();
    await h.peer.until(() => ends(h).length === 1);
    h.peer.send(
      record(FCGI_STDIN, 1, Buffer.from('late')),
      record(FCGI_ABORT_REQUEST, 1),
      record(FCGI_PARAMS, 1),
    );
    h.peer.send(begin(2), params(2), stream(FCGI_STDIN, 2, 'mine'));
    const second = await h.request(1);
    expect((await readAll(second.stdin)).toString()).toBe('mine');
    second.end();
    await h.peer.until(() => h.peer.ended);
    expect(h.peer.records.map((r) => [r.type, r.requestId])).toEqual([
      [FCGI_STDOUT, 1],
      [FCGI_END_REQUEST, 1],
      [FCGI_STDOUT, 2],
      [FCGI_END_REQUEST, 2],
    ]);
  });

  it('sends STDERR records and ends the STDERR stream before END_REQUEST', async () => {
    const h = await setup();
    h.peer.send(begin(1), params(1), stream(FCGI_STDIN, 1, ''));
    const req = await h.request();
    req.writeStderr('warn\n');
    req.writeStderr(Buffer.alloc(0));
    req.stdout.write('out');
    expect(() => {
      req.end(-1);
    }).toThrow(RangeError);
    req.end(0);
    req.writeStderr('after the end');
    await h.peer.until(() => h.peer.ended);
    expect(h.peer.records.map((r) => [r.type, r.content.toString()])).toEqual([
      [FCGI_STDERR, 'warn\n'],
      [FCGI_STDOUT, 'out'],
      [FCGI_STDOUT, ''],
      [FCGI_STDERR, ''],
      [FCGI_END_REQUEST, '\0'.repeat(8)],
    ]);
  });

  it.each([
    ['a bad version', (): Buffer => Buffer.from('GET / HTTP/1.1\r\n\r\n'), ErrorCode.ERR_FCGI_PROTOCOL],
    [
      'a short BEGIN_REQUEST body',
      (): Buffer => record(RecordType.FCGI_BEGIN_REQUEST, 3, Buffer.alloc(3)),
      ErrorCode.ERR_FCGI_PROTOCOL,
    ],
    ['a BEGIN_REQUEST for the request in progress', (): Buffer => begin(1), ErrorCode.ERR_FCGI_PROTOCOL],
  ])('emits protocol-error on %s, aborts the request and closes', async (_name, bytes, code) => {
    const h = await setup();
    h.peer.send(begin(1), params(1));
    const req = await h.request();
    h.peer.send(bytes(), begin(2), params(2));
    await h.closed;
    await h.peer.until(() => h.peer.closed);
    expect(h.protocolErrors).toHaveLength(1);
    expect(h.protocolErrors[0]).toBeInstanceOf(ProtocolError);
    expect(h.protocolErrors[0]).toMatchObject({ code });
    expect(req.signal.aborted).toBe(true);
    req.end();
    expect(h.requests).toHaveLength(1);
  });

  it.each([
    [
      'params over maxParamsBytes',
      (): Buffer => params(1, { V: 'v'.repeat(200) }),
      ErrorCode.ERR_FCGI_PARAMS_TOO_LARGE,
    ],
    [
      'STDIN before the params end',
      (): Buffer => record(FCGI_STDIN, 1, Buffer.from('x')),
      ErrorCode.ERR_FCGI_PROTOCOL,
    ],
    [
      'a truncated pair',
      (): Buffer => Buffer.concat([record(FCGI_PARAMS, 1, Buffer.from([5, 5, 65])), record(FCGI_PARAMS, 1)]),
      ErrorCode.ERR_FCGI_PROTOCOL,
    ],
  ])('emits protocol-error with the request id on %s', async (_name, bytes, code) => {
    const h = await setup({ maxParamsBytes: 100 });
    h.peer.send(begin(1), bytes());
    await h.closed;
    expect(h.protocolErrors).toEqual([expect.objectContaining({ code, requestId: 1 })]);
  });

  it('answers GET_VALUES malformed content with a protocol error', async () => {
    const h = await setup();
    h.peer.send(record(RecordType.FCGI_GET_VALUES, 0, Buffer.from([9])));
    await h.closed;
    expect(h.protocolErrors).toEqual([expect.objectContaining({ code: ErrorCode.ERR_FCGI_PROTOCOL })]);
  });

  it('lets an exception from a request listener propagate, after destroying the socket', () => {
    const duplex = new PassThrough();
    const connection = new FcgiResponderConnection(duplex);
    connection.on('request', () => {
      throw new Error('listener bug');
    });
    expect(() => duplex.emit('data', Buffer.concat([begin(1), params(1)]))).toThrow('listener bug');
    expect(duplex.destroyed).toBe(true);
    duplex.emit('data', begin(2));
  });

  it('checks its options', () => {
    expect(() => new FcgiResponderConnection(new PassThrough(), { maxParamsBytes: 0 })).toThrow(TypeError);
    expect(() => new FcgiResponderConnection(new PassThrough(), { stdinHighWaterMarkBytes: 1.5 })).toThrow(
      TypeError,
    );
    expect(
      () => new FcgiResponderConnection(new PassThrough(), { values: { BIG: 'x'.repeat(70000) } }),
    ).toThrow(RangeError);
  });
});
