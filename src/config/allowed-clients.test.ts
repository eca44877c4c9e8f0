// This file implements the tests of allowed-clients.ts from the perspective of an operator
// writing `listen.allowed_clients` as PHP-FPM does (a comma-separated string) or as a TOML
// array, with CIDR ranges of both families.
import { describe, expect, it } from 'vitest';
import { formatClientRange, parseAllowedClients, parseClientRange } from './allowed-clients.ts';

describe('parseClientRange', () => {
  it.each([
    ['10.0.0.7', { family: 'ipv4', address: '10.0.0.7', prefix: 32 }],
    [' 10.0.0.0/8 ', { family: 'ipv4', address: '10.0.0.0', prefix: 8 }],
    ['0.0.0.0/0', { family: 'ipv4', address: '0.0.0.0', prefix: 0 }],
    ['::1', { family: 'ipv6', address: '::1', prefix: 128 }],
    ['[0:0::1]', { family: 'ipv6', address: '::1', prefix: 128 }],
    ['FD00::/8', { family: 'ipv6', address: 'fd00::', prefix: 8 }],
    ['[fd00::]/8', { family: 'ipv6', address: 'fd00::', prefix: 8 }],
    // A v4-mapped entry is the IPv4 address it maps: it then matches either socket family.
    ['::ffff:10.1.2.3', { family: 'ipv4', address: '10.1.2.3', prefix: 32 }],
    ['::ffff:10.0.0.0/104', { family: 'ipv4', address: '10.0.0.0', prefix: 8 }],
  ] as const)('%s', (entry, range) => {
    expect(parseClientRange(entry)).toEqual(range);
  });

  it.each([
    ['front.example', 'is not an IPv4 or IPv6 address or CIDR range (host names are not resolved)'],
    ['10.0.0.256', 'is not an IPv4 or IPv6 address'],
    ['10.0.0.0/33', 'the prefix length must be 0 to 32'],
    ['::/129', 'the prefix length must be 0 to 128'],
    ['10.0.0.0/', 'the prefix length must be 0 to 32'],
    ['10.0.0.0/8x', 'the prefix length must be 0 to 32'],
    ['', 'is not an IPv4 or IPv6 address'],
  ])('refuses %j', (entry, message) => {
    expect(() => parseClientRange(entry)).toThrow(message);
  });
});

describe('parseAllowedClients', () => {
  it('reads PHP-FPM comma-separated strings and arrays alike', () => {
    const ranges = [{ family: 'ipv4', address: '127.0.0.1', prefix: 32 }, { family: 'ipv6', address: '::1', prefix: 128 }];
    expect(parseAllowedClients('127.0.0.1, ::1')).toEqual(ranges);
    expect(parseAllowedClients(['127.0.0.1', '::1'])).toEqual(ranges);
  });

  it('lets everyone in when empty or "any" (PHP-FPM default)', () => {
    expect(parseAllowedClients('')).toBeUndefined();
    expect(parseAllowedClients([])).toBeUndefined();
    expect(parseAllowedClients('any')).toBeUndefined();
  });

  it('formats ranges back as written', () => {
    expect(parseAllowedClients('10.0.0.0/8,::1,fd00::/8')?.map(formatClientRange)).toEqual(['10.0.0.0/8', '::1', 'fd00::/8']);
  });
});
