// This file implements the tests of parser.ts from the perspective of a socket delivering arbitrary
// chunks: a whole request split at every offset, padding 0..255, a 66000-byte body, bad versions,
// and linear work on 20000 tiny records (node-fastcgi was quadratic: audit A-13).
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../errors.ts';
import { RecordType } from './constants.ts';
import { RecordParser } from './parser.ts';
import type { FcgiRecord } from './record.ts';
import { encodeStream, encodeStreamEnd } from './writer.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

interface Plain {
  type: number;
  requestId: number;
  content: string;
}

function parse(...chunks: Buffer[]): Plain[] {
  const out: Plain[] = [];
  const parser = new RecordParser((r) =>
    out.push({ type: r.type, requestId: r.requestId, content: r.content.toString('hex') }),
  );
  for (const chunk of chunks) parser.push(chunk);
  expect(parser.buffered).toBe(0);
  return out;
}

/** What nginx sends for `POST /a.cgi` with body "hello", as bytes and as records. */
const stream = hex(`
  01 01 0001 0008 00 00  0001 01 0000000000
  01 04 0001 0014 04 00  0e 04 ${Buffer.from('REQUEST_METHODPOST').toString('hex')}  00000000
  01 04 0001 0000 00 00
  01 05 0001 0005 03 00  68656c6c6f 000000
  01 05 0001 0000 00 00
  01 09 0000 0000 00 00
  01 0c 0000 0001 07 00  aa 00000000000000
`);
const records: Plain[] = [
  { type: 1, requestId: 1, content: '0001010000000000' },
  { type: 4, requestId: 1, content: `0e04${Buffer.from('REQUEST_METHODPOST').toString('hex')}` },
  { type: 4, requestId: 1, content: '' },
  { type: 5, requestId: 1, content: '68656c6c6f' },
  { type: 5, requestId: 1, content: '' },
  { type: 9, requestId: 0, content: '' },
  { type: 12, requestId: 0, content: 'aa' },
];

describe('RecordParser', () => {
  it('decodes the byte table in one chunk', () => {
    expect(parse(stream)).toEqual(records);
  });

  it('decodes the stream split at every offset, at every pair of offsets, and byte by byte', () => {
    for (let i = 0; i <= stream.length; i++) {
      expect(parse(stream.subarray(0, i), stream.subarray(i)), `split at ${i}`).toEqual(records);
      for (let j = i; j <= stream.length; j += 3) {
        expect(parse(stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j))).toEqual(records);
      }
    }
    expect(parse(...[...stream].map((b) => Buffer.from([b])))).toEqual(records);
  });

  it('honours every padding length 0..255 on read', () => {
    for (let padding = 0; padding <= 255; padding++) {
      const bytes = Buffer.concat([
        hex(`01 06 0002 0003 ${padding.toString(16).padStart(2, '0')} 00 616263`),
        Buffer.alloc(padding, 0xee),
        hex('01 06 0002 0000 00 00'),
      ]);
      const expected = [
        { type: 6, requestId: 2, content: '616263' },
        { type: 6, requestId: 2, content: '' },
      ];
      expect(parse(bytes)).toEqual(expected);
      expect(
        parse(bytes.subarray(0, 9), bytes.subarray(9, 12 + padding), bytes.subarray(12 + padding)),
      ).toEqual(expected);
    }
  });

  it('reassembles a 66000-byte STDIN from records split over chunks of any size', () => {
    const body = Buffer.alloc(66000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 251;
    const wire = Buffer.concat([...encodeStream(RecordType.FCGI_STDIN, 1, body), encodeStreamEnd(5, 1)]);
    for (const size of [1000, 7, 32768, 65536, wire.length]) {
      const got: FcgiRecord[] = [];
      const parser = new RecordParser((r) => got.push(r));
      for (let i = 0; i < wire.length; i += size) parser.push(wire.subarray(i, i + size));
      expect(got.map((r) => r.content.length)).toEqual([65528, 472, 0]);
      expect(Buffer.concat(got.map((r) => r.content)).equals(body)).toBe(true);
    }
  });

  it('delivers a record that lies in one chunk as a zero-copy slice', () => {
    const got: FcgiRecord[] = [];
    new RecordParser((r) => got.push(r)).push(stream);
    const stdin = got[3]!;
    expect(stdin.content.buffer).toBe(stream.buffer);
    expect(stdin.content.byteOffset).toBe(stream.byteOffset + 16 + 32 + 8 + 8);
  });

  it('reports the bytes held back for an incomplete record', () => {
    const parser = new RecordParser(() => undefined);
    parser.push(hex('01 05 00'));
    expect(parser.buffered).toBe(3);
    parser.push(hex('01 0010 00 00  0102030405'));
    expect(parser.buffered).toBe(5);
    parser.push(Buffer.alloc(11));
    expect(parser.buffered).toBe(0);
  });

  it.each([
    ['version 0', hex('00 01 0001 0008 00 00')],
    ['version 2', hex('02 01 0001 0008 00 00')],
    ['an HTTP request (version 71)', Buffer.from('GET / HTTP/1.1\r\n')],
  ])('throws ProtocolError on %s, and keeps failing', (_name, bytes) => {
    const parser = new RecordParser(() => undefined);
    let first: unknown;
    try {
      parser.push(bytes);
    } catch (err) {
      first = err;
    }
    expect(first).toBeInstanceOf(ProtocolError);
    expect(first).toMatchObject({ code: ErrorCode.ERR_FCGI_PROTOCOL, requestId: 0 });
    expect(() => {
      parser.push(hex('01 05 0001 0000 00 00'));
    }).toThrow(first);
  });

  it('delivers the records before a bad header in the same chunk, then throws', () => {
    const got: number[] = [];
    const parser = new RecordParser((r) => got.push(r.type));
    expect(() => {
      parser.push(hex('01 0b 0000 0000 00 00  07 0b 0000 0000 00 00'));
    }).toThrow('fastcgi: bad record version: expected 1, got 7');
    expect(got).toEqual([11]);
  });

  it('keeps a consistent state when the callback throws', () => {
    const got: number[] = [];
    const parser = new RecordParser((r) => {
      got.push(r.requestId);
      if (r.requestId === 1) throw new Error('listener failed');
    });
    expect(() => {
      parser.push(hex('01 05 0001 0001 07 00 ff'));
    }).toThrow('listener failed');
    parser.push(hex('00000000000000  01 05 0002 0000 00 00'));
    expect(got).toEqual([1, 2]);
  });

  it('stays linear: 20000 tiny records in one chunk', () => {
    const one = hex('01 05 0001 0001 07 00  ab 00000000000000');
    const chunk = Buffer.concat(Array.from({ length: 20000 }, () => one));
    let count = 0;
    let sameBuffer = 0;
    const parser = new RecordParser((r) => {
      count++;
      if (r.content.buffer === chunk.buffer && r.content.length === 1) sameBuffer++;
    });
    parser.push(chunk);
    expect(count).toBe(20000);
    expect(sameBuffer).toBe(20000);
    expect(parser.buffered).toBe(0);
  });

  it('ignores empty chunks', () => {
    expect(parse(Buffer.alloc(0), stream.subarray(0, 16), Buffer.alloc(0), stream.subarray(16))).toEqual(
      records,
    );
  });
});
