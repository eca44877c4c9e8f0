// This file implements the tests of access-line.ts from the perspective of an operator reading
// an access log written in PHP-FPM's `access.format`: each token from a request's params and
// outcome, `-` for what is missing, lines kept whole, and the JSON form with one `pid`.
import { describe, expect, it } from 'vitest';
import { parseAccessFormat } from '../config/access-format.ts';
import { accessLine, type AccessEntry } from './access-line.ts';

function params(values: Record<string, string>): AccessEntry['params'] {
  return { get: (name) => (values[name] === undefined ? undefined : Buffer.from(values[name], 'utf8')) };
}

const START = new Date(2026, 0, 2, 3, 4, 5).getTime();

const ENTRY: AccessEntry = {
  pool: 'www', script: '/srv/www/form.py', status: 200, startedAtMs: START, endedAtMs: START + 1234.5678,
  params: params({
    REQUEST_METHOD: 'POST', REQUEST_URI: '/form.py/x?a=1&b=2', QUERY_STRING: 'a=1&b=2', REMOTE_ADDR: '192.0.2.7',
    REMOTE_USER: 'alice', CONTENT_LENGTH: '42', HTTP_USER_AGENT: 'curl/8', HTTP_X_REQUEST_ID: 'r-1',
  }),
  pid: 4242, supervisorPid: 1000, bytes: 512,
};

function line(format: string, entry: AccessEntry = ENTRY): string {
  return accessLine(parseAccessFormat(format), entry);
}

describe('accessLine with % tokens', () => {
  it("fills PHP-FPM's tokens", () => {
    expect(line('%m %r%Q%q %s %l %n %p %P %u %R %f')).toBe(
      'POST /form.py/x?a=1&b=2 200 42 www 4242 1000 alice 192.0.2.7 /srv/www/form.py\n');
    expect(line('%{HTTP_USER_AGENT}e|%{HTTP_NOPE}e')).toBe('curl/8|-\n');
    expect(line('%t')).toMatch(/^02\/Jan\/2026:03:04:05 [+-]\d{4}\n$/);
    expect(line('%{%Y-%m-%d %H:%M:%S}T')).toBe('2026-01-02 03:04:06\n');
  });

  it('writes durations in each unit', () => {
    expect(line('%d %{seconds}d %{mili}d %{milliseconds}d %{micro}d')).toBe('1.235 1.235 1234.568 1234.568 1234568\n');
  });

  it('writes memory and CPU when measured, - when not', () => {
    expect(line('%C %M')).toBe('- -\n');
    const measured = { ...ENTRY, cpuPercent: 12.345, memoryBytes: 3 * 1048576 + 5 };
    expect(line('%C %M %{kilo}M %{mega}M', measured)).toBe('12.35 3145733 3072 3\n');
  });

  it('leaves %Q%q empty without a query, and writes - for what the web server did not send', () => {
    const bare = { ...ENTRY, params: params({ SCRIPT_NAME: '/ping' }), script: '' };
    expect(line('"%m %r%Q%q" %u %R %f %l', bare)).toBe('"- /ping" - - - 0\n');
    expect(line('%m %r', { ...ENTRY, params: undefined })).toBe('- -\n');
  });

  it('keeps a line whole when a value holds control bytes', () => {
    const hostile = { ...ENTRY, params: params({ HTTP_USER_AGENT: 'a\nb\x1b' }) };
    expect(line('%{HTTP_USER_AGENT}e', hostile)).toBe('a\\x0ab\\x1b\n');
  });
});

describe('accessLine as JSON', () => {
  it('writes one object with one pid', () => {
    const text = line('json');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.match(/"pid"/g)).toHaveLength(1);
    expect(JSON.parse(text)).toEqual({
      time: new Date(START).toISOString(), pool: 'www', script: '/srv/www/form.py', method: 'POST',
      uri: '/form.py/x?a=1&b=2', query: 'a=1&b=2', status: 200, client: '192.0.2.7', user: 'alice',
      userAgent: 'curl/8', requestId: 'r-1', contentLength: 42, bytes: 512, durationMs: 1234.568, pid: 4242,
    });
  });
});
