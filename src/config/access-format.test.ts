// This file implements the tests of access-format.ts from the perspective of an operator
// copying a PHP-FPM `access.format`: every documented token parses, an unknown one is refused
// with its offset, and the JSON form is recognized.
import { describe, expect, it } from 'vitest';
import { accessFormatNeedsUsage, DEFAULT_ACCESS_FORMAT, parseAccessFormat } from './access-format.ts';

describe('parseAccessFormat', () => {
  it("parses PHP-FPM's default into text and fields", () => {
    expect(parseAccessFormat(DEFAULT_ACCESS_FORMAT)).toEqual({
      kind: 'tokens',
      tokens: [
        { kind: 'field', code: 'R', arg: undefined },
        { kind: 'text', text: ' - ' },
        { kind: 'field', code: 'u', arg: undefined },
        { kind: 'text', text: ' ' },
        { kind: 'field', code: 't', arg: undefined },
        { kind: 'text', text: ' "' },
        { kind: 'field', code: 'm', arg: undefined },
        { kind: 'text', text: ' ' },
        { kind: 'field', code: 'r', arg: undefined },
        { kind: 'text', text: '" ' },
        { kind: 'field', code: 's', arg: undefined },
      ],
    });
  });

  it("parses the example of PHP-FPM's www.conf, %% as text", () => {
    const parsed = parseAccessFormat('%R - %u %t "%m %r%Q%q" %s %f %{mili}d %{kilo}M %C%%');
    expect(parsed.kind).toBe('tokens');
    if (parsed.kind !== 'tokens') return;
    expect(parsed.tokens.flatMap((t) => (t.kind === 'field' ? [`${t.arg ?? ''}${t.code}`] : []))).toEqual(
      ['R', 'u', 't', 'm', 'r', 'Q', 'q', 's', 'f', 'milid', 'kiloM', 'C'],
    );
    expect(parsed.tokens.at(-1)).toEqual({ kind: 'text', text: '%' });
  });

  it('takes every documented argument', () => {
    for (const format of ['%{user}C %{system}C %{total}C', '%{seconds}d %{milliseconds}d %{micro}d %{microseconds}d',
      '%{bytes}M %{kilobytes}M %{megabytes}M %{mega}M', '%{HTTP_USER_AGENT}e', '%{%Y-%m-%dT%H:%M:%S%z}t %{%s}T', '%n %p %P %l']) {
      expect(() => parseAccessFormat(format), format).not.toThrow();
    }
  });

  it.each([
    ['%x', /unknown token "%x" at offset 0/],
    ['a %{hours}d', /"%\{hours\}d": the argument must be one of seconds/],
    ['%e', /needs a variable name/],
    ['%{Content-Type}o', /output headers are not logged/],
    ['100%', /a lone "%"/],
    ['%{%Q}t', /unsupported strftime conversion "%Q"/],
    ['%{x}s', /%s takes no argument/],
    ['%{abc', /unterminated "%\{" at offset 0/],
  ])('refuses %j', (format, message) => {
    expect(() => parseAccessFormat(format)).toThrow(message);
  });

  it('knows when workers must measure CPU and memory', () => {
    expect(accessFormatNeedsUsage(parseAccessFormat(DEFAULT_ACCESS_FORMAT))).toBe(false);
    expect(accessFormatNeedsUsage(parseAccessFormat('%s %C'))).toBe(true);
    expect(accessFormatNeedsUsage(parseAccessFormat('%{kilo}M'))).toBe(true);
    expect(accessFormatNeedsUsage(parseAccessFormat('json'))).toBe(true);
  });
});
