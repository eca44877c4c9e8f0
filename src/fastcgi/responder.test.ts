// This file implements the tests of responder.ts from the perspective of the bytes a web server
// sends: tables of raw input bytes against the driver events and the exact reply bytes the
// responder role owes by itself. Each node-fastcgi failure of the role (audit A-1, A-2, A-3, A-5,
// A-7, A-8) is a row here; the socket drivers (worker/fcgi-connection*.test.ts, and the
// supervisor's integration tests) run the same machine.
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../errors.ts';
import { FCGI_KEEP_CONN, RecordType, Role } from './constants.ts';
import { encodeNameValuePairs } from './name-value.ts';
import { encodeBeginRequestBody, encodeRecord } from './record.ts';
import { Responder, type ResponderOptions } from './responder.ts';

const { FCGI_PARAMS, FCGI_STDIN, FCGI_ABORT_REQUEST, FCGI_GET_VALUES } = RecordType;
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const rec = (type: number, id: number, content: Buffer = Buffer.alloc(0)): Buffer => Buffer.concat(encodeRecord(type, id, content));
const begin = (id: number, flags = 0, role: number = Role.FCGI_RESPONDER): Buffer =>
  rec(RecordType.FCGI_BEGIN_REQUEST, id, encodeBeginRequestBody(role, flags));
const pairs = (...list: [string, string][]): Buffer => encodeNameValuePairs(list);
const params = (id: number, ...list: [string, string][]): Buffer => Buffer.concat([rec(FCGI_PARAMS, id, pairs(...list)), rec(FCGI_PARAMS, id)]);

/** END_REQUEST for `id` with protocol status `status`, app status 0: the exact 16 bytes. */
const endRequest = (id: number, status: number): string =>
  `0103${id.toString(16).padStart(4, '0')}0008000000000000${status.toString(16).padStart(2, '0')}000000`;
const UNKNOWN_TYPE = (type: number): string => `010b000000080000${type.toString(16).padStart(2, '0')}00000000000000`;

/** A responder whose driver logs every event; replies are kept as hex. */
function machine(options: Partial<ResponderOptions> = {}) {
  const log: string[] = [];
  const replies: string[] = [];
  const responder = new Responder<string>(
    {
      begin: (id, keepConn) => {
        log.push(`begin ${id}${keepConn ? ' keep' : ''}`);
        return `r${id}`;
      },
      params: (r, p) => log.push(`params ${r} ${[...p.toMap()].map(([n, v]) => `${n}=${v}`).join('&')}`),
      stdin: (r, content) => log.push(`stdin ${r} ${JSON.stringify(content.toString())}`),
      abort: (r) => log.push(`abort ${r}`),
      reply: (record) => replies.push(record.toString('hex')),
      close: () => log.push('close'),
      idle: () => log.push('idle'),
    },
    { maxParamsBytes: 1024, maxRequests: 1, values: () => ({ FCGI_MAX_CONNS: '7', FCGI_MAX_REQS: '1' }), ...options },
  );
  return { responder, log, replies };
}

interface Row {
  name: string;
  input: Buffer;
  /** Calls `end(id)` for these ids after the input, as a driver that answered them. */
  end?: number[];
  log: string[];
  replies: string[];
}

const rows: Row[] = [
  {
    name: 'one request without KEEP_CONN: begin, params, body, then close after its END_REQUEST (A-5)',
    input: Buffer.concat([begin(1), params(1, ['A', 'b']), rec(FCGI_STDIN, 1, Buffer.from('hi')), rec(FCGI_STDIN, 1)]),
    end: [1],
    log: ['begin 1', 'params r1 A=b', 'stdin r1 "hi"', 'stdin r1 ""', 'close', 'idle'],
    replies: [],
  },
  {
    name: 'KEEP_CONN: two requests in turn, no close (A-5)',
    input: Buffer.concat([begin(1, FCGI_KEEP_CONN), params(1)]),
    end: [1],
    log: ['begin 1 keep', 'params r1 ', 'idle'],
    replies: [],
  },
  {
    name: 'unknown record types and unknown management records get FCGI_UNKNOWN_TYPE (A-1)',
    input: Buffer.concat([rec(12, 0, Buffer.from('x')), rec(0, 1), rec(200, 5, Buffer.alloc(300)),
      rec(FCGI_STDIN, 0, Buffer.from('management?')), rec(RecordType.FCGI_GET_VALUES_RESULT, 0)]),
    log: [],
    replies: [UNKNOWN_TYPE(12), UNKNOWN_TYPE(0), UNKNOWN_TYPE(200), UNKNOWN_TYPE(5), UNKNOWN_TYPE(10)],
  },
  {
    name: 'GET_VALUES answered with own names only; toString, constructor, __proto__ are unknown (A-2)',
    input: rec(FCGI_GET_VALUES, 0, pairs(['toString', ''], ['constructor', ''], ['__proto__', ''], ['FCGI_MPXS_CONNS', ''], ['FCGI_MAX_CONNS', ''])),
    log: [],
    replies: [rec(RecordType.FCGI_GET_VALUES_RESULT, 0, pairs(['FCGI_MPXS_CONNS', '0'], ['FCGI_MAX_CONNS', '7'])).toString('hex')],
  },
  {
    name: 'repeated empty PARAMS records start the request once (A-3)',
    input: Buffer.concat([begin(1), params(1, ['A', '1']), rec(FCGI_PARAMS, 1), rec(FCGI_PARAMS, 1, pairs(['A', '2']))]),
    log: ['begin 1', 'params r1 A=1'],
    replies: [],
  },
  {
    name: 'a second request while one is in flight gets FCGI_CANT_MPX_CONN and its records are ignored (A-8)',
    input: Buffer.concat([begin(1), params(1), begin(2, FCGI_KEEP_CONN), params(2), rec(FCGI_STDIN, 2, Buffer.from('z')), rec(FCGI_STDIN, 1, Buffer.from('a'))]),
    log: ['begin 1', 'params r1 ', 'stdin r1 "a"'],
    replies: [endRequest(2, 1)],
  },
  {
    name: 'ABORT_REQUEST while the params still arrive: END_REQUEST answered by the role itself, then close (§5.4)',
    input: Buffer.concat([begin(4), rec(FCGI_PARAMS, 4, pairs(['A', 'b'])), rec(FCGI_ABORT_REQUEST, 4), rec(FCGI_STDIN, 4, Buffer.from('late'))]),
    log: ['begin 4', 'close', 'idle'],
    replies: [endRequest(4, 0)],
  },
  {
    name: 'ABORT_REQUEST while the params still arrive, KEEP_CONN: END_REQUEST, no close',
    input: Buffer.concat([begin(4, FCGI_KEEP_CONN), rec(FCGI_ABORT_REQUEST, 4)]),
    log: ['begin 4 keep', 'idle'],
    replies: [endRequest(4, 0)],
  },
  {
    name: 'ABORT_REQUEST of a started request goes to the driver, which owes the END_REQUEST (A-7)',
    input: Buffer.concat([begin(1, FCGI_KEEP_CONN), params(1), rec(FCGI_ABORT_REQUEST, 1)]),
    end: [1],
    log: ['begin 1 keep', 'params r1 ', 'abort r1', 'idle'],
    replies: [],
  },
  {
    name: 'another role gets FCGI_UNKNOWN_ROLE; without KEEP_CONN the connection closes',
    input: Buffer.concat([begin(1, 0, Role.FCGI_AUTHORIZER), params(1)]),
    log: ['close'],
    replies: [endRequest(1, 3)],
  },
  {
    name: 'another role with KEEP_CONN: FCGI_UNKNOWN_ROLE, the connection stays for the next request',
    input: Buffer.concat([begin(1, FCGI_KEEP_CONN, Role.FCGI_FILTER), params(1), begin(2), params(2)]),
    log: ['begin 2', 'params r2 '],
    replies: [endRequest(1, 3)],
  },
  {
    name: 'records for unknown ids and after END_REQUEST are ignored',
    input: Buffer.concat([rec(FCGI_STDIN, 9, Buffer.from('x')), rec(FCGI_ABORT_REQUEST, 9), rec(FCGI_PARAMS, 9), begin(1, FCGI_KEEP_CONN), params(1)]),
    end: [1, 1],
    log: ['begin 1 keep', 'params r1 ', 'idle'],
    replies: [],
  },
];

describe('Responder byte tables', () => {
  it.each(rows)('$name', (row) => {
    const m = machine();
    m.responder.push(row.input);
    for (const id of row.end ?? []) m.responder.end(id);
    expect(m.log).toEqual(row.log);
    expect(m.replies).toEqual(row.replies);
  });

  it.each(rows)('$name, split at every offset', (row) => {
    for (let cut = 1; cut < row.input.length; cut++) {
      const m = machine();
      m.responder.push(row.input.subarray(0, cut));
      m.responder.push(row.input.subarray(cut));
      for (const id of row.end ?? []) m.responder.end(id);
      expect(m.log, `cut at ${cut}`).toEqual(row.log);
    }
  });
});

describe('Responder protocol errors', () => {
  it.each([
    ['a bad version', Buffer.from('GET / HTTP/1.1\r\n\r\n'), ErrorCode.ERR_FCGI_PROTOCOL],
    ['a short BEGIN_REQUEST body', rec(RecordType.FCGI_BEGIN_REQUEST, 3, Buffer.alloc(3)), ErrorCode.ERR_FCGI_PROTOCOL],
    ['BEGIN_REQUEST repeated for a request in flight', Buffer.concat([begin(1), params(1), begin(1)]), ErrorCode.ERR_FCGI_PROTOCOL],
    ['STDIN before the params end', Buffer.concat([begin(1), rec(FCGI_STDIN, 1, Buffer.from('x'))]), ErrorCode.ERR_FCGI_PROTOCOL],
    ['params over maxParamsBytes', Buffer.concat([begin(1), params(1, ['V', 'v'.repeat(2000)])]), ErrorCode.ERR_FCGI_PARAMS_TOO_LARGE],
    ['a truncated pair', Buffer.concat([begin(1), rec(FCGI_PARAMS, 1, hex('05 05 41')), rec(FCGI_PARAMS, 1)]), ErrorCode.ERR_FCGI_PROTOCOL],
    ['malformed GET_VALUES content', rec(FCGI_GET_VALUES, 0, hex('09')), ErrorCode.ERR_FCGI_PROTOCOL],
  ])('throws ProtocolError on %s', (_name, input, code) => {
    const m = machine();
    expect(() => {
      m.responder.push(input);
    }).toThrow(ProtocolError);
    const again = machine();
    let error: unknown;
    try {
      again.responder.push(input);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code });
  });

  it('skips the rest of params over maxParamsBytes and tells a driver that answers them (paramsTooLarge)', () => {
    const told: string[] = [];
    const m = machine();
    const responder = new Responder<string>({
      begin: (id) => `r${id}`,
      params: (r) => told.push(`params ${r}`),
      stdin: (r, content) => told.push(`stdin ${r} ${content.length}`),
      abort: (r) => told.push(`abort ${r}`),
      reply: (record) => m.replies.push(record.toString('hex')),
      close: () => told.push('close'),
      idle: () => told.push('idle'),
      paramsTooLarge: (r, err) => told.push(`too large ${r} ${err.code}`),
    }, { maxParamsBytes: 1024, maxRequests: 1, values: () => ({}) });
    const big = Buffer.alloc(700, 0x41);
    // Pairs split across records: the stream passes the bound in the second record.
    responder.push(Buffer.concat([begin(1, FCGI_KEEP_CONN), rec(FCGI_PARAMS, 1, big), rec(FCGI_PARAMS, 1, big), rec(FCGI_PARAMS, 1, big)]));
    expect(told).toEqual([]);
    responder.push(Buffer.concat([rec(FCGI_PARAMS, 1), rec(FCGI_STDIN, 1, Buffer.from('x'))]));
    expect(told).toEqual([`too large r1 ${ErrorCode.ERR_FCGI_PARAMS_TOO_LARGE}`, 'stdin r1 1']);
    responder.end(1);
    responder.push(Buffer.concat([begin(2, FCGI_KEEP_CONN), params(2, ['A', 'b'])]));
    expect(told.slice(-2)).toEqual(['idle', 'params r2']);
  });

  it('checks its options', () => {
    expect(() => machine({ maxRequests: 0 })).toThrow(TypeError);
    expect(() => machine({ maxParamsBytes: 1.5 })).toThrow(TypeError);
  });
});

describe('Responder with multiplexing (maxRequests > 1)', () => {
  it('tracks requests by id, says FCGI_MPXS_CONNS=1, and refuses past maxRequests', () => {
    const m = machine({ maxRequests: 2 });
    m.responder.push(Buffer.concat([
      begin(1, FCGI_KEEP_CONN), begin(2, FCGI_KEEP_CONN), params(2, ['N', '2']), params(1, ['N', '1']),
      begin(3, FCGI_KEEP_CONN), rec(FCGI_STDIN, 2, Buffer.from('two')), rec(FCGI_STDIN, 1, Buffer.from('one')),
      rec(FCGI_GET_VALUES, 0, pairs(['FCGI_MPXS_CONNS', ''])),
    ]));
    expect(m.log).toEqual(['begin 1 keep', 'begin 2 keep', 'params r2 N=2', 'params r1 N=1', 'stdin r2 "two"', 'stdin r1 "one"']);
    expect(m.replies).toEqual([endRequest(3, 1), rec(RecordType.FCGI_GET_VALUES_RESULT, 0, pairs(['FCGI_MPXS_CONNS', '1'])).toString('hex')]);
    m.responder.end(2);
    expect(m.responder.idle).toBe(false);
    m.responder.end(1);
    expect(m.log.slice(-1)).toEqual(['idle']);
  });

  it('closes once the last request ends after one without KEEP_CONN, refusing new ones meanwhile', () => {
    const m = machine({ maxRequests: 4 });
    m.responder.push(Buffer.concat([begin(1, FCGI_KEEP_CONN), params(1), begin(2), params(2), begin(3, FCGI_KEEP_CONN)]));
    expect(m.replies).toEqual([endRequest(3, 1)]);
    m.responder.end(2);
    expect(m.log).not.toContain('close');
    m.responder.end(1);
    expect(m.log.slice(-2)).toEqual(['close', 'idle']);
  });

  it('lists the requests in flight, started or not, and forgets them on clear', () => {
    const m = machine({ maxRequests: 2 });
    m.responder.push(Buffer.concat([begin(1, FCGI_KEEP_CONN), params(1), begin(2, FCGI_KEEP_CONN)]));
    const seen: string[] = [];
    m.responder.forEach((r, started) => seen.push(`${r} ${started}`));
    expect(seen).toEqual(['r1 true', 'r2 false']);
    m.responder.clear();
    expect(m.responder.idle).toBe(true);
    m.responder.push(rec(FCGI_STDIN, 1, Buffer.from('ignored')));
    expect(m.log).toEqual(['begin 1 keep', 'params r1 ', 'begin 2 keep']);
  });

  it('keeps several ids apart when their records interleave byte by byte; an abort or end of one leaves the others', () => {
    const m = machine({ maxRequests: 3 });
    const input = Buffer.concat([
      begin(1, FCGI_KEEP_CONN), begin(2, FCGI_KEEP_CONN), rec(FCGI_PARAMS, 2, pairs(['N', '2'])), begin(3, FCGI_KEEP_CONN),
      rec(FCGI_PARAMS, 1, pairs(['N', '1'])), rec(FCGI_PARAMS, 2), rec(FCGI_STDIN, 2, Buffer.from('two')), rec(FCGI_PARAMS, 1),
      params(3, ['N', '3']), rec(FCGI_ABORT_REQUEST, 2), rec(FCGI_STDIN, 1, Buffer.from('one')), rec(FCGI_STDIN, 3, Buffer.from('three')),
    ]);
    for (const byte of input) m.responder.push(Buffer.from([byte]));
    expect(m.responder.size).toBe(3);
    expect(m.log).toEqual([
      'begin 1 keep', 'begin 2 keep', 'begin 3 keep', 'params r2 N=2', 'stdin r2 "two"', 'params r1 N=1', 'params r3 N=3',
      'abort r2', 'stdin r1 "one"', 'stdin r3 "three"',
    ]);
    m.responder.end(2);
    m.responder.push(rec(FCGI_STDIN, 2, Buffer.from('late')));
    expect(m.responder.size).toBe(2);
    m.responder.end(3);
    m.responder.end(1);
    expect(m.log.slice(-1)).toEqual(['idle']);
    expect(m.log).not.toContain('stdin r2 "late"');
    expect(m.replies).toEqual([]);
  });
});
