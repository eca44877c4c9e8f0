// This file implements the tests of listen.ts from the perspective of an operator writing
// `listen` and `listen.mode` as PHP-FPM and nginx spell them.

import { describe, expect, it } from 'vitest';
import { formatListenAddress, formatSocketMode, parseListenAddress, parseSocketMode } from './listen.ts';

const base = '/etc/cgi-fpm';

describe('parseListenAddress', () => {
  it.each([
    ['/run/cgi-fpm/blog.sock', { kind: 'unix', path: '/run/cgi-fpm/blog.sock' }],
    ['unix:/run/cgi-fpm/blog.sock', { kind: 'unix', path: '/run/cgi-fpm/blog.sock' }],
    ['blog.sock', { kind: 'unix', path: '/etc/cgi-fpm/blog.sock' }],
    ['../run/blog.sock', { kind: 'unix', path: '/etc/run/blog.sock' }],
    ['/run/with:colon.sock', { kind: 'unix', path: '/run/with:colon.sock' }],
    ['127.0.0.1:9001', { kind: 'tcp', host: '127.0.0.1', port: 9001 }],
    ['0.0.0.0:65535', { kind: 'tcp', host: '0.0.0.0', port: 65535 }],
    ['LocalHost:9001', { kind: 'tcp', host: 'localhost', port: 9001 }],
    ['fcgi.internal.example:1', { kind: 'tcp', host: 'fcgi.internal.example', port: 1 }],
    ['[::1]:9001', { kind: 'tcp', host: '::1', port: 9001 }],
    ['[0:0::1]:9001', { kind: 'tcp', host: '::1', port: 9001 }],
    ['[::]:9001', { kind: 'tcp', host: '::', port: 9001 }],
    ['tcp://127.0.0.1:9000', { kind: 'tcp', host: '127.0.0.1', port: 9000 }],
    ['tcp://localhost:9000', { kind: 'tcp', host: 'localhost', port: 9000 }],
    ['tcp://[::1]:9000', { kind: 'tcp', host: '::1', port: 9000 }],
    ['systemd:web', { kind: 'systemd', name: 'web' }],
    ['systemd:cgi-fpm.socket', { kind: 'systemd', name: 'cgi-fpm.socket' }],
    ['systemd:9000', { kind: 'systemd', name: '9000' }],
    ['systemd:with space/and.slash', { kind: 'systemd', name: 'with space/and.slash' }],
    [`systemd:${'n'.repeat(255)}`, { kind: 'systemd', name: 'n'.repeat(255) }],
  ])('reads %j', (value, address) => {
    expect(parseListenAddress(value, base)).toEqual(address);
  });

  it.each([
    ['', 'it is empty'],
    ['9000', 'a bare port is ambiguous; write "127.0.0.1:9000"'],
    ['::1:9000', 'put an IPv6 address in brackets'],
    ['127.0.0.1:0', 'the port must be 1 to 65535'],
    ['127.0.0.1:65536', 'the port must be 1 to 65535'],
    ['127.0.0.1:', 'expected a socket path, "HOST:PORT" or "[IPv6]:PORT"'],
    ['127.0.0.1:http', 'expected a socket path'],
    ['[127.0.0.1]:9000', '"127.0.0.1" is not an IPv6 address'],
    ['[]:9000', '"" is not an IPv6 address'],
    ['999.1.1.1:9000', '"999.1.1.1" is neither an IPv4 address nor a host name'],
    ['bad_host:9000', 'is neither an IPv4 address nor a host name'],
    [`/${'x'.repeat(107)}`, 'the socket path is 108 bytes, more than the 107 unix sockets allow'],
    ['systemd:', 'name the socket: "systemd:NAME"'],
    ['tcp://9000', 'expected a socket path, "HOST:PORT" or "[IPv6]:PORT"'],
    ['tcp://127.0.0.1:9000/', 'expected a socket path, "HOST:PORT" or "[IPv6]:PORT"'],
    ['tcp://127.0.0.1:0', 'the port must be 1 to 65535'],
    ['http://127.0.0.1:9000', '"http://" is not a listen scheme; write "tcp://HOST:PORT"'],
    ['udp://127.0.0.1:9000', '"udp://" is not a listen scheme'],
    ['systemd:a:b', 'printable ASCII without ":"'],
    ['systemd:tab\there', 'printable ASCII without ":"'],
    ['systemd:caf\u00e9', 'printable ASCII without ":"'],
    [`systemd:${'n'.repeat(256)}`, "the socket name is 256 characters, more than systemd's 255"],
  ])('refuses %j: %s', (value, reason) => {
    expect(() => parseListenAddress(value, base)).toThrow(TypeError);
    expect(() => parseListenAddress(value, base)).toThrow(
      `invalid listen address ${JSON.stringify(value)}: `,
    );
    expect(() => parseListenAddress(value, base)).toThrow(reason);
  });

  it('accepts a socket path of exactly 107 bytes', () => {
    const path = `/${'x'.repeat(106)}`;
    expect(parseListenAddress(path, base)).toEqual({ kind: 'unix', path });
  });
});

describe('formatListenAddress', () => {
  it.each([
    [{ kind: 'unix', path: '/run/x.sock' } as const, 'unix:/run/x.sock'],
    [{ kind: 'tcp', host: '127.0.0.1', port: 9001 } as const, '127.0.0.1:9001'],
    [{ kind: 'tcp', host: '::1', port: 9001 } as const, '[::1]:9001'],
    [{ kind: 'systemd', name: 'web' } as const, 'systemd:web'],
  ])('writes %j as %j, which reads back equal', (address, text) => {
    expect(formatListenAddress(address)).toBe(text);
    expect(parseListenAddress(text, base)).toEqual(address);
  });

  it('gives equal keys to spellings of one address', () => {
    const key = (v: string) => formatListenAddress(parseListenAddress(v, base));
    expect(key('[0:0:0:0:0:0:0:1]:9000')).toBe(key('[::1]:9000'));
    expect(key('unix:blog.sock')).toBe(key('/etc/cgi-fpm/blog.sock'));
    expect(key('LOCALHOST:9000')).toBe(key('localhost:9000'));
  });
});

describe('parseSocketMode', () => {
  it.each([
    ['0660', 0o660],
    ['660', 0o660],
    ['0600', 0o600],
    ['0777', 0o777],
    ['1777', 0o1777],
    ['0000', 0],
  ])('reads %j as octal', (value, mode) => {
    expect(parseSocketMode(value)).toBe(mode);
  });

  it.each([
    [660, 'invalid socket mode 660: write it as an octal string such as "0660"'],
    [432, 'invalid socket mode 432'],
    ['0668', 'invalid socket mode "0668"'],
    ['rw-rw----', 'invalid socket mode "rw-rw----"'],
    ['66', 'invalid socket mode "66"'],
    ['07777x', 'invalid socket mode "07777x"'],
    [true, 'invalid socket mode true'],
  ])('refuses %j', (value, message) => {
    expect(() => parseSocketMode(value)).toThrow(message);
  });

  it('formats modes as four octal digits', () => {
    expect(formatSocketMode(0o660)).toBe('0660');
    expect(formatSocketMode(0o1777)).toBe('1777');
    expect(formatSocketMode(0)).toBe('0000');
  });
});
