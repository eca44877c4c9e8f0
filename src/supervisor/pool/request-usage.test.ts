// This file implements the tests of request-usage.ts from the perspective of an operator reading
// `last request cpu` and `last request memory`: ticks parsed from /proc/PID/stat (a command name
// with spaces and parentheses included), CPU % as PHP-FPM computes it, and which pools measure.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import { cpuPercent, measuresUsage, parseCpuTicks, readCpuTicks, readRssBytesSync } from './request-usage.ts';

/** A /proc/PID/stat line with utime 120, stime 30, cutime 7, cstime 3 (fields 14–17). */
const STAT = '4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 900 0 0 0 120 30 7 3 20 0 1 0 123 1000 200 18446744073709551615';

describe('parseCpuTicks', () => {
  it('sums utime, stime, cutime and cstime after the last parenthesis', () => {
    expect(parseCpuTicks(STAT)).toBe(160);
  });

  it('refuses a text that is not a stat line', () => {
    expect(parseCpuTicks('garbage')).toBeUndefined();
    expect(parseCpuTicks('1 (x) S 1 2')).toBeUndefined();
  });
});

describe('cpuPercent', () => {
  it('is CPU time over wall time × 100, 0.01 precision', () => {
    expect(cpuPercent(50, 1000)).toBe(50); // 0.5 s of CPU in 1 s
    expect(cpuPercent(200, 1000)).toBe(200); // two CPUs busy
    expect(cpuPercent(1, 3000)).toBe(0.33);
    expect(cpuPercent(10, 100, 1000)).toBe(10);
  });

  it('is 0 for no time, an empty duration or a negative delta (a restarted runner)', () => {
    expect([cpuPercent(0, 1000), cpuPercent(5, 0), cpuPercent(-3, 1000)]).toEqual([0, 0, 0]);
  });
});

describe('reading /proc', () => {
  it.skipIf(process.platform !== 'linux')('counts this process and a reaped child, a gone pid as 0', () => {
    const before = readCpuTicks([process.pid]);
    // A child that burns ~0.3 s of CPU, reaped by spawnSync: its time lands in our cutime.
    spawnSync(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 300);']);
    expect(readCpuTicks([process.pid]) - before).toBeGreaterThan(0);
    expect(readCpuTicks([0x3fffffff])).toBe(0);
    expect(readRssBytesSync([process.pid])).toBeGreaterThan(1024 * 1024);
    expect(readRssBytesSync([0x3fffffff])).toBe(0);
  });
});

describe('measuresUsage', () => {
  const access = (log: string | undefined, format: string) => testPoolConfig({ access: { log, format } });

  it('measures for a status page or an access format that shows %C, %M or JSON', () => {
    expect(measuresUsage(testPoolConfig())).toBe(false);
    expect(measuresUsage(testPoolConfig({
      status: { path: '/status', listen: undefined, pingPath: undefined, pingResponse: 'pong' },
    }))).toBe(true);
    expect(measuresUsage(access('/tmp/a.log', '%R %s'))).toBe(false);
    expect(measuresUsage(access('/tmp/a.log', '%R %s %C'))).toBe(true);
    expect(measuresUsage(access('/tmp/a.log', '%{kilo}M'))).toBe(true);
    expect(measuresUsage(access('/tmp/a.log', 'json'))).toBe(true);
    expect(measuresUsage(access(undefined, '%C %M'))).toBe(false);
  });
});
