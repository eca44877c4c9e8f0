// This file implements the tests of response.ts from the perspective of a runtime that hands a
// structured head over: encodeCgiHead round-trips what the parser reads; reason phrases.
import { describe, expect, it } from 'vitest';
import {
  encodeCgiHead,
  reasonPhrase,
  type CgiHead,
} from './response.ts';

import { bytes, parse } from './response-test-peer.ts';

describe('encodeCgiHead', () => {
  it.each<[string, CgiHead, string]>([
    [
      'a document',
      { status: 200, reason: 'OK', headers: [['Content-Type', 'text/html']] },
      'Status: 200 OK\r\nContent-Type: text/html\r\n\r\n',
    ],
    [
      'a client redirect',
      { status: 302, reason: 'Found', headers: [['Location', 'https://e.com/']] },
      'Status: 302 Found\r\nLocation: https://e.com/\r\n\r\n',
    ],
    [
      'a local redirect, no Status line',
      { status: 200, reason: 'OK', headers: [['Location', '/x']] },
      'Location: /x\r\n\r\n',
    ],
    [
      'a non-local Location with 200',
      { status: 200, reason: 'OK', headers: [['Location', 'https://e.com/']] },
      'Status: 200 OK\r\nLocation: https://e.com/\r\n\r\n',
    ],
    ['a status without reason', { status: 299, reason: '', headers: [] }, 'Status: 299\r\n\r\n'],
    [
      'repeated fields',
      {
        status: 200,
        reason: 'OK',
        headers: [
          ['Set-Cookie', 'a=1'],
          ['Set-Cookie', 'b=2'],
        ],
      },
      'Status: 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n',
    ],
    [
      'latin1 bytes',
      { status: 200, reason: 'OK', headers: [['X', '\xe9\xff\t.']] },
      'Status: 200 OK\r\nX: \xe9\xff\t.\r\n\r\n',
    ],
  ])('writes %s', (_name, head, expected) => {
    expect(encodeCgiHead(head)).toStrictEqual(bytes(expected));
  });

  it('round-trips what the parser reads', () => {
    const input = bytes('HTTP/1.1 404 Gone Fishing\r\nSet-Cookie: a=1\r\nX-Bin: \xe9\xa0\r\n\r\n');
    expect(encodeCgiHead(parse([input]).head)).toStrictEqual(
      bytes('Status: 404 Gone Fishing\r\nSet-Cookie: a=1\r\nX-Bin: \xe9\xa0\r\n\r\n'),
    );
  });

  it.each<[string, CgiHead]>([
    ['a bad name', { status: 200, reason: 'OK', headers: [['Bad Name', 'x']] }],
    ['CR LF in a value', { status: 200, reason: 'OK', headers: [['X', 'a\r\nSet-Cookie: evil']] }],
    ['a character above U+00FF', { status: 200, reason: 'OK', headers: [['X', '\u0100']] }],
    ['CR LF in the reason', { status: 200, reason: 'OK\r\nX: y', headers: [] }],
    ['a status below 100', { status: 42, reason: '', headers: [] }],
    ['a status above 999', { status: 1000, reason: '', headers: [] }],
    ['a fractional status', { status: 200.5, reason: '', headers: [] }],
  ])('throws TypeError for %s', (_name, head) => {
    expect(() => encodeCgiHead(head)).toThrow(TypeError);
  });
});

describe('reasonPhrase', () => {
  it('knows the standard phrases and returns empty for others', () => {
    expect(reasonPhrase(502)).toBe('Bad Gateway');
    expect(reasonPhrase(429)).toBe('Too Many Requests');
    expect(reasonPhrase(299)).toBe('');
  });
});
