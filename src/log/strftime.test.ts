// This file implements the tests of strftime.ts from the perspective of an access log copied
// from PHP-FPM: its default `%t` format and each supported conversion, in local time.
import { describe, expect, it } from 'vitest';
import { strftime } from './strftime.ts';

// A local moment: the fields below do not depend on the machine's time zone (only %z and %s do).
const MOMENT = new Date(2026, 0, 2, 3, 4, 5).getTime();

describe('strftime', () => {
  it("formats PHP-FPM's default %t", () => {
    expect(strftime('%d/%b/%Y:%H:%M:%S %z', MOMENT)).toMatch(/^02\/Jan\/2026:03:04:05 [+-]\d{4}$/);
  });

  it('formats every supported conversion', () => {
    const cases: [string, string][] = [
      ['%a %A', 'Fri Friday'], ['%b %B', 'Jan January'], ['%d %e', '02  2'], ['%D', '01/02/26'],
      ['%F', '2026-01-02'], ['%H %I %p', '03 03 AM'], ['%j', '002'], ['%m %M %S', '01 04 05'],
      ['%R %T', '03:04 03:04:05'], ['%u %w', '5 5'], ['%y %Y', '26 2026'], ['%%', '%'], ['a%nb', 'a\nb'],
      ['%s', String(MOMENT / 1000)], ['trailing %', 'trailing %'],
    ];
    for (const [format, expected] of cases) expect(strftime(format, MOMENT)).toBe(expected);
  });

  it('writes the local offset as +HHMM', () => {
    const offset = -new Date(MOMENT).getTimezoneOffset();
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset);
    expect(strftime('%z', MOMENT)).toBe(`${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`);
  });

  it('writes noon as 12 PM and midnight as 12 AM', () => {
    expect(strftime('%I %p', new Date(2026, 0, 2, 12).getTime())).toBe('12 PM');
    expect(strftime('%I %p', new Date(2026, 0, 2, 0).getTime())).toBe('12 AM');
  });
});
