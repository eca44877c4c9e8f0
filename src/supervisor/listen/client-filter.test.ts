// This file implements the tests of client-filter.ts from the perspective of a listener facing
// its front ends and strangers: ranges of both families, the v4-mapped form a `[::]` socket
// reports, sockets destroyed at accept, and refusals logged once per address per minute.
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseAllowedClients } from '../../config/allowed-clients.ts';
import type { Logger } from '../../log/logger.ts';
import { ClientFilter, clientMatcher, MAX_REMEMBERED_ADDRESSES, REFUSAL_LOG_INTERVAL_MS } from './client-filter.ts';

const ranges = (text: string) => parseAllowedClients(text) ?? [];

describe('clientMatcher', () => {
  const m = clientMatcher(ranges('10.1.0.0/16, 192.0.2.7, fd00:1::/64, ::1'));
  it.each([
    ['10.1.2.3', true],
    ['::ffff:10.1.2.3', true], // an IPv4 client on a dual-stack [::] listener
    ['10.2.0.1', false],
    ['::ffff:10.2.0.1', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['fd00:1::abcd', true],
    ['fd00:2::1', false],
    ['::1', true],
    ['127.0.0.1', false],
    ['', false],
    [undefined, false],
    ['not an address', false],
  ])('%s → %s', (address, allowed) => {
    expect(m.allows(address)).toBe(allowed);
  });

  it('matches a range written in the v4-mapped form against plain IPv4 clients too', () => {
    const mapped = clientMatcher(ranges('::ffff:10.0.0.0/104'));
    expect([mapped.allows('10.9.9.9'), mapped.allows('::ffff:10.9.9.9'), mapped.allows('11.0.0.1')]).toEqual([true, true, false]);
  });
});

/** A socket with a peer address that records whether it was destroyed. */
function fakeSocket(remoteAddress: string | undefined): Socket & { destroyedByFilter: boolean } {
  const socket = { remoteAddress, destroyedByFilter: false, destroy() { socket.destroyedByFilter = true; return socket; } };
  return socket as unknown as Socket & { destroyedByFilter: boolean };
}

function harness(list: string | undefined) {
  const lines: [Record<string, unknown>, string][] = [];
  const log = { warn: (fields: Record<string, unknown>, msg: string) => { lines.push([fields, msg]); } } as unknown as Logger;
  let now = 1_000_000;
  const filter = new ClientFilter('[::]:9000', list === undefined ? undefined : ranges(list), log, () => now);
  return { filter, lines, advance: (ms: number) => { now += ms; } };
}

describe('ClientFilter', () => {
  it('lets everyone in without a list', () => {
    const h = harness(undefined);
    const s = fakeSocket('203.0.113.9');
    expect(h.filter.admit(s)).toBe(true);
    expect(s.destroyedByFilter).toBe(false);
  });

  it('destroys a stranger at accept, counts it, and logs its address once per minute with the refusals between', () => {
    const h = harness('10.0.0.1');
    const front = fakeSocket('::ffff:10.0.0.1');
    expect(h.filter.admit(front)).toBe(true);
    expect(front.destroyedByFilter).toBe(false);
    for (let i = 0; i < 5; i++) {
      const s = fakeSocket('::ffff:10.0.0.3');
      expect(h.filter.admit(s)).toBe(false);
      expect(s.destroyedByFilter).toBe(true);
    }
    expect(h.filter.admit(fakeSocket('10.0.0.4'))).toBe(false);
    expect(h.filter.refused).toBe(6);
    expect(h.lines).toEqual([
      [{ listen: '[::]:9000', remote: '::ffff:10.0.0.3', refusedSinceLastLog: 0 }, 'client refused'],
      [{ listen: '[::]:9000', remote: '10.0.0.4', refusedSinceLastLog: 0 }, 'client refused'],
    ]);
    h.advance(REFUSAL_LOG_INTERVAL_MS);
    h.filter.admit(fakeSocket('::ffff:10.0.0.3'));
    expect(h.lines.at(-1)).toEqual([{ listen: '[::]:9000', remote: '::ffff:10.0.0.3', refusedSinceLastLog: 4 }, 'client refused']);
  });

  it('remembers a bounded number of addresses (a scan of many addresses cannot grow memory)', () => {
    const h = harness('10.0.0.1');
    for (let i = 0; i < MAX_REMEMBERED_ADDRESSES + 100; i++) h.filter.admit(fakeSocket(`fd00::${i.toString(16)}`));
    expect(h.lines).toHaveLength(MAX_REMEMBERED_ADDRESSES + 100);
    // The oldest were forgotten: the first address is logged again at once.
    h.filter.admit(fakeSocket('fd00::0'));
    expect(h.lines).toHaveLength(MAX_REMEMBERED_ADDRESSES + 101);
    // A recent one is still within its minute.
    h.filter.admit(fakeSocket(`fd00::${(MAX_REMEMBERED_ADDRESSES + 99).toString(16)}`));
    expect(h.lines).toHaveLength(MAX_REMEMBERED_ADDRESSES + 101);
  });

  it('applies a new list from a reload', () => {
    const h = harness('10.0.0.1');
    h.filter.update(ranges('10.0.0.3'));
    expect([h.filter.admit(fakeSocket('10.0.0.1')), h.filter.admit(fakeSocket('10.0.0.3'))]).toEqual([false, true]);
    h.filter.update(undefined);
    expect(h.filter.admit(fakeSocket('10.0.0.1'))).toBe(true);
  });
});
