// This file implements the tests of constants.ts from the perspective of the spec's §8 table:
// every number byte for byte.
import { describe, expect, it } from 'vitest';
import {
  FCGI_HEADER_LEN,
  FCGI_KEEP_CONN,
  FCGI_MAX_ALIGNED_CONTENT_LEN,
  FCGI_MAX_CONTENT_LEN,
  FCGI_NULL_REQUEST_ID,
  FCGI_VERSION_1,
  GetValuesName,
  isKnownRecordType,
  ProtocolStatus,
  RecordType,
  Role,
} from './constants.ts';

describe('constants', () => {
  it('match the spec §8 values', () => {
    expect([
      FCGI_VERSION_1,
      FCGI_HEADER_LEN,
      FCGI_MAX_CONTENT_LEN,
      FCGI_NULL_REQUEST_ID,
      FCGI_KEEP_CONN,
    ]).toEqual([1, 8, 65535, 0, 1]);
    expect(Object.values(RecordType)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(Role).toEqual({ FCGI_RESPONDER: 1, FCGI_AUTHORIZER: 2, FCGI_FILTER: 3 });
    expect(ProtocolStatus).toEqual({
      FCGI_REQUEST_COMPLETE: 0,
      FCGI_CANT_MPX_CONN: 1,
      FCGI_OVERLOADED: 2,
      FCGI_UNKNOWN_ROLE: 3,
    });
    expect(Object.keys(GetValuesName)).toEqual(Object.values(GetValuesName));
  });

  it('FCGI_MAX_ALIGNED_CONTENT_LEN is the largest multiple of 8 that fits a record', () => {
    expect(FCGI_MAX_ALIGNED_CONTENT_LEN % 8).toBe(0);
    expect(FCGI_MAX_ALIGNED_CONTENT_LEN).toBeLessThanOrEqual(FCGI_MAX_CONTENT_LEN);
    expect(FCGI_MAX_ALIGNED_CONTENT_LEN + 8).toBeGreaterThan(FCGI_MAX_CONTENT_LEN);
  });

  it.each([
    [0, false],
    [1, true],
    [5, true],
    [11, true],
    [12, false],
    [255, false],
    [1.5, false],
    [-1, false],
  ])('isKnownRecordType(%s) is %s', (type, known) => {
    expect(isKnownRecordType(type)).toBe(known);
  });
});
