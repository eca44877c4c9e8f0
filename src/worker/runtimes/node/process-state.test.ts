// This file implements the tests of the process-wide state the node runtime resets through
// functions, from the perspective of the next request: the umask, the last regular expression
// match and an uncaught-exception capture callback are the script's own and always reset;
// interpreter-wide settings (DNS order, stream high-water mark, max listeners) come back.
import dns from 'node:dns';
import stream from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProcessBaseline, SettingsBaseline } from './process-state.ts';

/* eslint-disable @typescript-eslint/no-deprecated -- the legacy RegExp statics are what leaks */

describe('ProcessBaseline', () => {
  it('puts back the umask, clears RegExp.$1 and lastMatch, and drops a capture callback', () => {
    const baseline = new ProcessBaseline();
    const mask = process.umask(0o077);
    process.umask(0);
    /token=(\w+)/.exec('token=secret');
    expect(RegExp.$1).toBe('secret');
    process.setUncaughtExceptionCaptureCallback(() => undefined);
    expect(baseline.restore()).toEqual([]);
    expect(process.umask(0o077)).toBe(mask);
    process.umask(mask);
    expect(RegExp.$1).toBe('');
    expect(RegExp.lastMatch).toBe('');
    expect(process.hasUncaughtExceptionCaptureCallback()).toBe(false);
  });
});

describe('SettingsBaseline', () => {
  it('puts back the DNS result order, the stream high-water mark and the max listeners', () => {
    const order = dns.getDefaultResultOrder();
    const hwm = stream.getDefaultHighWaterMark(false);
    const max = process.getMaxListeners();
    const baseline = new SettingsBaseline();
    dns.setDefaultResultOrder(order === 'verbatim' ? 'ipv4first' : 'verbatim');
    stream.setDefaultHighWaterMark(false, 1);
    process.setMaxListeners(max + 5);
    expect(baseline.restore()).toEqual([]);
    expect(dns.getDefaultResultOrder()).toBe(order);
    expect(stream.getDefaultHighWaterMark(false)).toBe(hwm);
    expect(process.getMaxListeners()).toBe(max);
  });
});
