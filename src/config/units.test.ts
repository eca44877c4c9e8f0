// This file implements the tests of units.ts from the perspective of an operator writing
// PHP-FPM-style durations and sizes.

import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs, parseSizeBytes } from './units.ts';

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['30', 30_000],
    [' 30s ', 30_000],
    ['0', 0],
    ['0s', 0],
    ['0ms', 0],
    [30, 30_000],
    [0, 0],
  ] as const)('reads %j as %d ms', (value, ms) => {
    expect(parseDurationMs(value)).toBe(ms);
  });

  it.each(['', 'abc', '1.5s', '-1s', '30 s', '30S', '10y', '1e3', 's'])('refuses %j, naming it', (value) => {
    expect(() => parseDurationMs(value)).toThrow(TypeError);
    expect(() => parseDurationMs(value)).toThrow(`invalid duration ${JSON.stringify(value)}`);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses the number %d', (value) => {
    expect(() => parseDurationMs(value)).toThrow(`invalid duration ${String(value)}`);
  });

  it('refuses values that overflow a safe integer of milliseconds', () => {
    expect(() => parseDurationMs('9999999999999d')).toThrow('too large');
    expect(() => parseDurationMs(Number.MAX_SAFE_INTEGER)).toThrow('too large');
  });
});

describe('formatDurationMs', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1500, '1500ms'],
    [30_000, '30s'],
    [60_000, '1m'],
    [90_000, '90s'],
    [3_600_000, '1h'],
    [172_800_000, '2d'],
  ])('writes %d ms as %j', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
    expect(parseDurationMs(text)).toBe(ms);
  });

  it('refuses a negative or fractional number', () => {
    expect(() => formatDurationMs(-1)).toThrow(TypeError);
    expect(() => formatDurationMs(0.5)).toThrow(TypeError);
  });
});

describe('parseSizeBytes', () => {
  it.each([
    ['100', 100],
    ['100B', 100],
    ['512K', 512 * 1024],
    ['100KB', 100 * 1024],
    ['1KiB', 1024],
    ['64M', 64 * 1024 ** 2],
    ['64MB', 64 * 1024 ** 2],
    ['64MiB', 64 * 1024 ** 2],
    ['64mb', 64 * 1024 ** 2],
    ['64 MB', 64 * 1024 ** 2],
    ['1G', 1024 ** 3],
    ['1GB', 1024 ** 3],
    ['2GiB', 2 * 1024 ** 3],
    ['0', 0],
    [4096, 4096],
  ] as const)('reads %j as %d bytes (every unit binary)', (value, bytes) => {
    expect(parseSizeBytes(value)).toBe(bytes);
  });

  it.each(['', 'abc', '1.5M', '-1K', '1T', '1MiBs', '5constructor', 'M'])(
    'refuses %j, naming it',
    (value) => {
      expect(() => parseSizeBytes(value)).toThrow(TypeError);
      expect(() => parseSizeBytes(value)).toThrow(`invalid size ${JSON.stringify(value)}`);
    },
  );

  it('refuses negative, fractional and oversized numbers', () => {
    expect(() => parseSizeBytes(-1)).toThrow('invalid size -1');
    expect(() => parseSizeBytes(1.5)).toThrow('invalid size 1.5');
    expect(() => parseSizeBytes('99999999999G')).toThrow('too large');
  });
});
