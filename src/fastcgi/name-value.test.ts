// This file implements the tests of name-value.ts from the perspective of the bytes on the wire:
// tables in both directions, 1- and 4-byte lengths, and a stream split at every offset
// (node-fastcgi decoded per record and corrupted split pairs: audit A-10).
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../errors.ts';
import { encodeNameValuePairs, NameValueDecoder } from './name-value.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): string => Buffer.from(s).toString('hex');

function decode(...chunks: Buffer[]): Map<string, string> {
  const decoder = new NameValueDecoder();
  for (const chunk of chunks) decoder.push(chunk);
  return decoder.end();
}

const long128 = 'N'.repeat(128);
const long300 = 'v'.repeat(300);

/** [pairs, wire bytes] */
const table: [string, [string, string][], string][] = [
  ['one short pair', [['A', 'B']], '01 01 41 42'],
  ['empty value', [['HTTPS', '']], `05 00 ${ascii('HTTPS')}`],
  ['empty name and value', [['', '']], '00 00'],
  ['127-byte value (last 1-byte length)', [['X', 'x'.repeat(127)]], `01 7f 58 ${ascii('x'.repeat(127))}`],
  ['128-byte name (4-byte length)', [[long128, '1']], `80000080 01 ${ascii(long128)} 31`],
  ['300-byte value (4-byte length)', [['Q', long300]], `01 8000012c 51 ${ascii(long300)}`],
  ['UTF-8 counted in bytes', [['é', '€']], `02 03 c3a9 e282ac`],
  [
    'several pairs',
    [
      ['SCRIPT_FILENAME', '/srv/a.cgi'],
      ['QUERY_STRING', 'a=1'],
    ],
    `0f 0a ${ascii('SCRIPT_FILENAME/srv/a.cgi')} 0c 03 ${ascii('QUERY_STRINGa=1')}`,
  ],
];

describe('encodeNameValuePairs', () => {
  it.each(table)('%s', (_name, pairs, bytes) => {
    expect(encodeNameValuePairs(pairs)).toEqual(hex(bytes));
  });

  it('accepts a one-shot iterable (a generator) and a Map', () => {
    function* gen(): Generator<[string, string]> {
      yield ['A', 'B'];
      yield ['C', 'D'];
    }
    expect(encodeNameValuePairs(gen())).toEqual(hex('01014142 01014344'));
    expect(encodeNameValuePairs(new Map([['A', 'B']]))).toEqual(hex('01014142'));
    expect(encodeNameValuePairs([])).toEqual(Buffer.alloc(0));
  });
});

describe('NameValueDecoder', () => {
  it.each(table)('%s', (_name, pairs, bytes) => {
    expect(decode(hex(bytes))).toEqual(new Map(pairs));
  });

  it('reads a 4-byte length with the high bit masked off', () => {
    expect(decode(hex('80000001 80000002 41 4243'))).toEqual(new Map([['A', 'BC']]));
  });

  it('decodes a stream split at every offset, and byte by byte', () => {
    const pairs: [string, string][] = [
      ['REQUEST_METHOD', 'POST'],
      [long128, long300],
      ['HTTP_X', 'é€'],
      ['EMPTY', ''],
    ];
    const bytes = encodeNameValuePairs(pairs);
    for (let i = 0; i <= bytes.length; i++) {
      expect(decode(bytes.subarray(0, i), bytes.subarray(i))).toEqual(new Map(pairs));
    }
    const single = [...bytes].map((b) => Buffer.from([b]));
    expect(decode(...single)).toEqual(new Map(pairs));
  });

  it('lets a later duplicate win', () => {
    const bytes = encodeNameValuePairs([
      ['A', '1'],
      ['B', '2'],
      ['A', '3'],
    ]);
    expect([...decode(bytes)]).toEqual([
      ['A', '3'],
      ['B', '2'],
    ]);
  });

  it('throws ProtocolError on a stream cut inside a pair (every cut point)', () => {
    const bytes = encodeNameValuePairs([
      ['NAME', long300],
      [long128, 'v'],
    ]);
    const boundaries = new Set([0, 4 + 4 + 1 + 300, bytes.length]);
    for (let i = 1; i < bytes.length; i++) {
      if (boundaries.has(i)) continue;
      const decoder = new NameValueDecoder(1024 * 1024, 9);
      decoder.push(bytes.subarray(0, i));
      expect(() => decoder.end(), `cut at ${i}`).toThrow(ProtocolError);
    }
    expect(decode(bytes.subarray(0, 309)).get('NAME')).toBe(long300);
  });

  it('names the request and the byte offset in a truncation error', () => {
    const decoder = new NameValueDecoder(100, 5);
    decoder.push(hex('01 01 41 42  05 7f 41'));
    expect(() => decoder.end()).toThrow(
      expect.objectContaining({
        code: ErrorCode.ERR_FCGI_PROTOCOL,
        requestId: 5,
        message: 'fastcgi: truncated name-value pair at byte 4 of 7 bytes',
      }),
    );
  });

  it('throws ProtocolError ERR_FCGI_PARAMS_TOO_LARGE past maxBytes', () => {
    const decoder = new NameValueDecoder(10, 3);
    decoder.push(Buffer.alloc(6));
    decoder.push(Buffer.alloc(4));
    expect(() => {
      decoder.push(Buffer.alloc(1));
    }).toThrow(expect.objectContaining({ code: ErrorCode.ERR_FCGI_PARAMS_TOO_LARGE, requestId: 3 }));
  });

  it('decodes an empty stream to no pairs and ignores empty chunks', () => {
    const decoder = new NameValueDecoder(0);
    decoder.push(Buffer.alloc(0));
    expect(decoder.end()).toEqual(new Map());
  });

  it.each([-1, 1.5, Number.NaN, Infinity])('rejects maxBytes %s with TypeError', (maxBytes) => {
    expect(() => new NameValueDecoder(maxBytes)).toThrow(TypeError);
  });
});
