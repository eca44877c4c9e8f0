// This file implements the tests of writer.ts from the perspective of a web server reading our
// records: byte tables for stream records, END_REQUEST, UNKNOWN_TYPE and GET_VALUES_RESULT (own
// properties only: audit A-2), and big payloads in 8-aligned records without copies.
import { describe, expect, it } from 'vitest';
import { FCGI_MAX_CONTENT_LEN, GetValuesName, ProtocolStatus, RecordType } from './constants.ts';
import { NameValueDecoder } from './name-value.ts';
import { RecordParser } from './parser.ts';
import type { FcgiRecord } from './record.ts';
import {
  encodeEndRequest,
  encodeGetValuesResult,
  encodeStream,
  encodeStreamEnd,
  encodeUnknownType,
} from './writer.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function parseAll(bytes: Buffer): FcgiRecord[] {
  const got: FcgiRecord[] = [];
  new RecordParser((r) => got.push(r)).push(bytes);
  return got;
}

describe('encodeStream', () => {
  it('gives no records for empty data (an empty record would end the stream)', () => {
    expect(encodeStream(RecordType.FCGI_STDOUT, 1, Buffer.alloc(0))).toEqual([]);
  });

  it.each([
    ['5 bytes, padded', 'hello', '01 06 0001 0005 03 00 68656c6c6f 000000'],
    ['8 bytes, no padding', '12345678', '01 06 0001 0008 00 00 3132333435363738'],
    ['1 byte', 'x', '01 06 0001 0001 07 00 78 00000000000000'],
  ])('%s', (_name, text, bytes) => {
    expect(Buffer.concat(encodeStream(RecordType.FCGI_STDOUT, 1, Buffer.from(text)))).toEqual(hex(bytes));
  });

  it('cuts 1 MiB into 8-aligned records of at most 65528 bytes, slicing without copies', () => {
    const data = Buffer.alloc(1024 * 1024 + 3);
    for (let i = 0; i < data.length; i++) data[i] = i % 253;
    const parts = encodeStream(RecordType.FCGI_STDOUT, 9, data);
    const slices = parts.filter((p) => p.buffer === data.buffer);
    expect(slices.reduce((sum, p) => sum + p.length, 0)).toBe(data.length);
    const wire = Buffer.concat(parts);
    expect(wire.length % 8).toBe(0);
    const records = parseAll(wire);
    expect(records).toHaveLength(Math.ceil(data.length / 65528));
    expect(records.every((r) => r.content.length <= 65528 && r.requestId === 9 && r.type === 6)).toBe(true);
    expect(Buffer.concat(records.map((r) => r.content)).equals(data)).toBe(true);
  });

  it('cuts 66000 bytes into 65528 + 472', () => {
    const records = parseAll(Buffer.concat(encodeStream(RecordType.FCGI_STDIN, 1, Buffer.alloc(66000, 1))));
    expect(records.map((r) => r.content.length)).toEqual([65528, 472]);
  });
});

describe('single records', () => {
  it('encodeStreamEnd', () => {
    expect(encodeStreamEnd(RecordType.FCGI_STDOUT, 1)).toEqual(hex('01 06 0001 0000 00 00'));
    expect(encodeStreamEnd(RecordType.FCGI_STDERR, 0x0102)).toEqual(hex('01 07 0102 0000 00 00'));
  });

  it.each([
    [1, 0, ProtocolStatus.FCGI_REQUEST_COMPLETE, '01 03 0001 0008 00 00  00000000 00 000000'],
    [2, 0, ProtocolStatus.FCGI_CANT_MPX_CONN, '01 03 0002 0008 00 00  00000000 01 000000'],
    [3, 255, ProtocolStatus.FCGI_UNKNOWN_ROLE, '01 03 0003 0008 00 00  000000ff 03 000000'],
  ])('encodeEndRequest(%i, %i, %i)', (id, appStatus, protocolStatus, bytes) => {
    expect(encodeEndRequest(id, appStatus, protocolStatus)).toEqual(hex(bytes));
  });

  it('encodeEndRequest rejects bad fields', () => {
    expect(() => encodeEndRequest(1, -1, 0)).toThrow(RangeError);
    expect(() => encodeEndRequest(70000, 0, 0)).toThrow(RangeError);
  });

  it('encodeUnknownType', () => {
    expect(encodeUnknownType(12)).toEqual(hex('01 0b 0000 0008 00 00  0c 00000000000000'));
    expect(encodeUnknownType(0)).toEqual(hex('01 0b 0000 0008 00 00  00 00000000000000'));
  });
});

describe('encodeGetValuesResult', () => {
  const values = { FCGI_MAX_CONNS: '1', FCGI_MAX_REQS: '1', FCGI_MPXS_CONNS: '0' };

  it('answers known names only, once each, as one padded management record', () => {
    const record = encodeGetValuesResult(['FCGI_MPXS_CONNS', 'FCGI_MPXS_CONNS', 'NOPE'], values);
    expect(record).toEqual(
      hex(`01 0a 0000 0012 06 00  0f 01 ${Buffer.from('FCGI_MPXS_CONNS0').toString('hex')} 000000000000`),
    );
  });

  it('treats Object.prototype names as unknown, not a crash (audit A-2)', () => {
    const names = [
      'toString',
      'constructor',
      '__proto__',
      'hasOwnProperty',
      'valueOf',
      GetValuesName.FCGI_MAX_CONNS,
    ];
    const [record] = parseAll(encodeGetValuesResult(names, values));
    const decoder = new NameValueDecoder();
    decoder.push(record!.content);
    expect(decoder.end()).toEqual(new Map([['FCGI_MAX_CONNS', '1']]));
    expect(record).toMatchObject({ type: RecordType.FCGI_GET_VALUES_RESULT, requestId: 0 });
  });

  it('works with a prototype-less values object and with no names', () => {
    const bare = Object.assign(Object.create(null) as Record<string, string>, { A: 'b' });
    expect(encodeGetValuesResult(['A', 'toString'], bare)).toEqual(
      hex('01 0a 0000 0004 04 00  01 01 41 62 00000000'),
    );
    expect(encodeGetValuesResult([], values)).toEqual(hex('01 0a 0000 0000 00 00'));
  });

  it('throws RangeError when the answer does not fit one record', () => {
    const huge = { BIG: 'x'.repeat(FCGI_MAX_CONTENT_LEN) };
    expect(() => encodeGetValuesResult(['BIG'], huge)).toThrow(RangeError);
  });
});
