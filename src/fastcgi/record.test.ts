// This file implements the tests of record.ts from the perspective of the bytes on the wire:
// tables in both directions, padding, ranges, and no copies.
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../errors.ts';
import { ProtocolStatus, RecordType, Role } from './constants.ts';
import {
  decodeBeginRequestBody,
  decodeEndRequestBody,
  encodeBeginRequestBody,
  encodeEndRequestBody,
  encodeHeader,
  encodeRecord,
  encodeUnknownTypeBody,
  paddingFor,
} from './record.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('paddingFor', () => {
  it.each([
    [0, 0],
    [1, 7],
    [5, 3],
    [7, 1],
    [8, 0],
    [9, 7],
    [65528, 0],
    [65535, 1],
  ])('paddingFor(%i) = %i (A-12: not len %% 8)', (length, padding) => {
    expect(paddingFor(length)).toBe(padding);
    expect((length + padding) % 8).toBe(0);
  });
});

describe('encodeHeader', () => {
  it.each([
    [[RecordType.FCGI_BEGIN_REQUEST, 1, 8, 0], '01 01 0001 0008 00 00'],
    [[RecordType.FCGI_STDOUT, 0xabcd, 65535, 1], '01 06 abcd ffff 01 00'],
    [[RecordType.FCGI_GET_VALUES, 0, 0, 255], '01 09 0000 0000 ff 00'],
  ] as const)('%j -> %s', ([type, id, length, padding], bytes) => {
    expect(encodeHeader(type, id, length, padding)).toEqual(hex(bytes));
  });

  it.each([
    [256, 1, 0, 0],
    [-1, 1, 0, 0],
    [1, 65536, 0, 0],
    [1, 1.5, 0, 0],
    [1, 1, 65536, 0],
    [1, 1, 0, 256],
  ])('rejects out-of-range fields %j with RangeError', (type, id, length, padding) => {
    expect(() => encodeHeader(type, id, length, padding)).toThrow(RangeError);
  });
});

describe('encodeRecord', () => {
  it('pads to 8 bytes and does not copy the content', () => {
    const content = Buffer.from('hello');
    const parts = encodeRecord(RecordType.FCGI_STDOUT, 1, content);
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(content);
    expect(Buffer.concat(parts)).toEqual(hex('01 06 0001 0005 03 00  68656c6c6f 000000'));
  });

  it('leaves out empty content and zero padding', () => {
    expect(encodeRecord(RecordType.FCGI_STDOUT, 1)).toEqual([hex('01 06 0001 0000 00 00')]);
    const eight = Buffer.from('12345678');
    expect(encodeRecord(RecordType.FCGI_STDIN, 2, eight)).toEqual([hex('01 05 0002 0008 00 00'), eight]);
  });

  it('accepts 65535 bytes and rejects 65536 with RangeError', () => {
    expect(Buffer.concat(encodeRecord(6, 1, Buffer.alloc(65535))).length).toBe(8 + 65535 + 1);
    expect(() => encodeRecord(6, 1, Buffer.alloc(65536))).toThrow(RangeError);
  });
});

describe('BEGIN_REQUEST body', () => {
  it.each([
    [Role.FCGI_RESPONDER, 1, '0001 01 0000000000'],
    [Role.FCGI_RESPONDER, 0, '0001 00 0000000000'],
    [Role.FCGI_FILTER, 0, '0003 00 0000000000'],
    [0xffff, 0xff, 'ffff ff 0000000000'],
  ])('role %i flags %i <-> %s', (role, flags, bytes) => {
    expect(encodeBeginRequestBody(role, flags)).toEqual(hex(bytes));
    expect(decodeBeginRequestBody(hex(bytes))).toEqual({ role, flags });
  });

  it('ignores the reserved bytes on read', () => {
    expect(decodeBeginRequestBody(hex('0001 01 ffffffffff ff'))).toEqual({ role: 1, flags: 1 });
  });

  it('throws ProtocolError ERR_FCGI_PROTOCOL with the request id on a short body', () => {
    const err = catchError(() => decodeBeginRequestBody(hex('000101'), 7));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code: ErrorCode.ERR_FCGI_PROTOCOL, requestId: 7 });
    expect((err as Error).message).toBe(
      'fastcgi: short FCGI_BEGIN_REQUEST body: expected 8 bytes, got 3 bytes',
    );
  });

  it('rejects out-of-range fields with RangeError', () => {
    expect(() => encodeBeginRequestBody(65536, 0)).toThrow(RangeError);
    expect(() => encodeBeginRequestBody(1, 256)).toThrow(RangeError);
  });
});

describe('END_REQUEST body', () => {
  it.each([
    [0, ProtocolStatus.FCGI_REQUEST_COMPLETE, '00000000 00 000000'],
    [0x01020304, ProtocolStatus.FCGI_UNKNOWN_ROLE, '01020304 03 000000'],
    [0xffffffff, ProtocolStatus.FCGI_CANT_MPX_CONN, 'ffffffff 01 000000'],
  ])('appStatus %i protocolStatus %i <-> %s', (appStatus, protocolStatus, bytes) => {
    expect(encodeEndRequestBody(appStatus, protocolStatus)).toEqual(hex(bytes));
    expect(decodeEndRequestBody(hex(bytes))).toEqual({ appStatus, protocolStatus });
  });

  it('throws ProtocolError on a short body and RangeError on bad fields', () => {
    expect(() => decodeEndRequestBody(Buffer.alloc(7), 3)).toThrow(ProtocolError);
    expect(catchError(() => decodeEndRequestBody(Buffer.alloc(0), 3))).toMatchObject({ requestId: 3 });
    expect(() => encodeEndRequestBody(2 ** 32, 0)).toThrow(RangeError);
    expect(() => encodeEndRequestBody(-1, 0)).toThrow(RangeError);
    expect(() => encodeEndRequestBody(0, 256)).toThrow(RangeError);
  });
});

describe('UNKNOWN_TYPE body', () => {
  it.each([
    [12, '0c 00000000000000'],
    [0, '00 00000000000000'],
    [255, 'ff 00000000000000'],
  ])('type %i -> %s', (type, bytes) => {
    expect(encodeUnknownTypeBody(type)).toEqual(hex(bytes));
  });

  it('rejects a type above 255', () => {
    expect(() => encodeUnknownTypeBody(256)).toThrow(RangeError);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
