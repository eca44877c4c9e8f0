import { describe, expect, it } from 'vitest';
import { CgiError, ErrorCode } from '../errors.ts';
import {
  CgiHeadParser,
  DEFAULT_MAX_HEAD_BYTES,
  type CgiHead,
} from './response.ts';

import { bytes, parse } from './response-test-peer.ts';

const heads: { name: string; input: string; head: CgiHead; body: string }[] = [
  {
    name: 'CRLF document response',
    input: 'Content-Type: text/html\r\n\r\n<p>hi</p>',
    head: { status: 200, reason: 'OK', headers: [['Content-Type', 'text/html']] },
    body: '<p>hi</p>',
  },
  {
    name: 'LF only',
    input: 'Content-Type: text/plain\nX-A: 1\n\nbody\n\nmore',
    head: {
      status: 200,
      reason: 'OK',
      headers: [
        ['Content-Type', 'text/plain'],
        ['X-A', '1'],
      ],
    },
    body: 'body\n\nmore',
  },
  {
    name: 'mixed LF and CRLF',
    input: 'A: 1\r\nB: 2\n\r\nbody',
    head: {
      status: 200,
      reason: 'OK',
      headers: [
        ['A', '1'],
        ['B', '2'],
      ],
    },
    body: 'body',
  },
  {
    name: 'Status with reason',
    input: 'Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope',
    head: { status: 404, reason: 'Not Found', headers: [['Content-Type', 'text/plain']] },
    body: 'nope',
  },
  {
    name: 'Status without reason',
    input: 'status:503\n\n',
    head: { status: 503, reason: 'Service Unavailable', headers: [] },
    body: '',
  },
  {
    name: 'Status with a custom reason',
    input: "Status: 418 I'm a teapot\n\n",
    head: { status: 418, reason: "I'm a teapot", headers: [] },
    body: '',
  },
  {
    name: 'Status without a known reason',
    input: 'Status: 299\n\n',
    head: { status: 299, reason: '', headers: [] },
    body: '',
  },
  {
    name: 'NPH status line',
    input: 'HTTP/1.1 201 Created\r\nServer: nph\r\n\r\nok',
    head: { status: 201, reason: 'Created', headers: [['Server', 'nph']] },
    body: 'ok',
  },
  {
    name: 'NPH status line without reason',
    input: 'HTTP/1.0 404\r\n\r\n',
    head: { status: 404, reason: 'Not Found', headers: [] },
    body: '',
  },
  {
    name: 'client redirect',
    input: 'Location: https://example.com/x\r\n\r\n',
    head: { status: 302, reason: 'Found', headers: [['Location', 'https://example.com/x']] },
    body: '',
  },
  {
    name: 'network-path redirect',
    input: 'Location: //example.com/x\r\n\r\n',
    head: { status: 302, reason: 'Found', headers: [['Location', '//example.com/x']] },
    body: '',
  },
  {
    name: 'local redirect',
    input: 'Location: /other?a=1\r\n\r\n',
    head: { status: 200, reason: 'OK', headers: [['Location', '/other?a=1']] },
    body: '',
  },
  {
    name: 'redirect with explicit Status',
    input: 'Location: https://e.com/\r\nStatus: 301 Moved Permanently\r\n\r\n',
    head: { status: 301, reason: 'Moved Permanently', headers: [['Location', 'https://e.com/']] },
    body: '',
  },
  {
    name: 'repeated headers in order',
    input: 'Set-Cookie: a=1\r\nX-B: 2\r\nset-cookie: c=3\r\n\r\n',
    head: {
      status: 200,
      reason: 'OK',
      headers: [
        ['Set-Cookie', 'a=1'],
        ['X-B', '2'],
        ['set-cookie', 'c=3'],
      ],
    },
    body: '',
  },
  {
    name: 'folded line',
    input: 'X-Long: a\r\n  b\r\n\tc\r\n \r\nX-Empty:\r\n \r\n\r\n',
    head: {
      status: 200,
      reason: 'OK',
      headers: [
        ['X-Long', 'a b c'],
        ['X-Empty', ''],
      ],
    },
    body: '',
  },
  {
    name: 'fold onto an empty value',
    input: 'X-E:\r\n  v\r\n\r\n',
    head: { status: 200, reason: 'OK', headers: [['X-E', 'v']] },
    body: '',
  },
  { name: 'empty head', input: '\r\nbody', head: { status: 200, reason: 'OK', headers: [] }, body: 'body' },
  { name: 'empty head, LF', input: '\n', head: { status: 200, reason: 'OK', headers: [] }, body: '' },
  {
    name: 'latin1 and binary body',
    input: 'X-Name: caf\xe9\xa0\r\n\r\n\x00\xff\r\n\r\n\x80',
    head: { status: 200, reason: 'OK', headers: [['X-Name', 'caf\xe9\xa0']] },
    body: '\x00\xff\r\n\r\n\x80',
  },
];

describe('CgiHeadParser', () => {
  it.each(heads)('$name', ({ input, head, body }) => {
    const parsed = parse([bytes(input)]);
    expect(parsed.head).toStrictEqual(head);
    expect(parsed.body).toStrictEqual(bytes(body));
  });

  it.each(heads)('$name, split at every byte offset', ({ input, head, body }) => {
    const all = bytes(input);
    for (let i = 0; i <= all.length; i++) {
      for (const j of [i, Math.min(all.length, i + 1), all.length]) {
        const parsed = parse([all.subarray(0, i), all.subarray(i, j), all.subarray(j)]);
        expect(parsed.head, `split at ${i}/${j}`).toStrictEqual(head);
        expect(parsed.body, `split at ${i}/${j}`).toStrictEqual(bytes(body));
      }
    }
    const oneByOne = parse([...all].map((byte) => Buffer.from([byte])));
    expect(oneByOne.head).toStrictEqual(head);
    expect(oneByOne.body).toStrictEqual(bytes(body));
  });

  it('exposes rest, head and buffered without copying the body', () => {
    const parser = new CgiHeadParser();
    expect(parser.push(bytes('A: 1\r\n'))).toBeUndefined();
    expect(parser.rest.length).toBe(0);
    expect(parser.head).toBeUndefined();
    expect(parser.buffered).toBe(6);
    const chunk = bytes('\r\nbody');
    const head = parser.push(chunk);
    expect(parser.head).toBe(head);
    expect(parser.rest.toString('latin1')).toBe('body');
    expect(parser.rest.buffer).toBe(chunk.buffer);
    expect(() => parser.push(bytes('x'))).toThrow(TypeError);
  });

  const badHeads: [string, string, string][] = [
    ['hello world\n\n', "line has no ':'", '"hello world"'],
    ['Bad Name: x\n\n', 'bad field name', '"Bad Name: x"'],
    [': x\n\n', 'bad field name', '": x"'],
    ['X: a\x01b\n\n', 'control byte in field value', '" a\\u0001b"'],
    ['X: a\rb\r\n\r\n', 'control byte in field value', '" a\\rb"'],
    [' x: y\n\n', 'continuation line without a field', '" x: y"'],
    ['X: 1\nStatus: 200\n y\n\n', 'continuation line without a field', '" y"'],
    ['Status: 200\nStatus: 404\n\n', 'duplicate status', '"Status: 404"'],
    ['HTTP/1.1 200 OK\nStatus: 404\n\n', 'duplicate status', '"Status: 404"'],
    ['Status: abc\n\n', 'malformed status', '"Status: abc"'],
    ['Status: 99\n\n', 'malformed status', '"Status: 99"'],
    ['Status: 1000\n\n', 'malformed status', '"Status: 1000"'],
    ['Status: 100 Continue\n\n', 'malformed status', '"Status: 100 Continue"'],
    ['Status: 600\n\n', 'malformed status', '"Status: 600"'],
    ['HTTP/1.1 abc\n\n', 'malformed status line', '"HTTP/1.1 abc"'],
    [`${'x'.repeat(100)}\n\n`, "line has no ':'", `"${'x'.repeat(80)}…"`],
  ];

  it.each(badHeads)('rejects %j as ERR_CGI_BAD_HEADERS', (input, what, shown) => {
    const parser = new CgiHeadParser(DEFAULT_MAX_HEAD_BYTES, '/srv/cgi/a.py');
    let error: unknown;
    try {
      parser.push(bytes(input));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CgiError);
    expect(error).toMatchObject({
      code: ErrorCode.ERR_CGI_BAD_HEADERS,
      message: `cgi: bad headers: ${what}: ${shown}`,
      scriptFilename: '/srv/cgi/a.py',
    });
  });

  it('accepts a head of exactly maxBytes, blank line included', () => {
    expect(parse([bytes('A: 12\r\n\r\nbody')], 11).head.headers).toStrictEqual([['A', '12']]);
  });

  it('throws ERR_CGI_NO_HEADERS past maxBytes, whether or not the end is in sight', () => {
    const parser = new CgiHeadParser(10);
    expect(parser.push(bytes('A: 1234'))).toBeUndefined();
    expect(() => parser.push(bytes('5678'))).toThrow(
      expect.objectContaining({
        code: ErrorCode.ERR_CGI_NO_HEADERS,
        message: 'cgi: no cgi headers: header block exceeds 10 bytes',
      }),
    );
    expect(() => new CgiHeadParser(10).push(bytes('A: 123456\r\n\r\n'))).toThrow(
      expect.objectContaining({ code: ErrorCode.ERR_CGI_NO_HEADERS }),
    );
  });
});
