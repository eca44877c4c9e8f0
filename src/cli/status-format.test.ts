// This file implements the tests of status-format.ts from the perspective of an operator reading
// `cgi-fpm status`: PHP-FPM's wording, aligned labels, readable durations, the backoff state.

import { describe, expect, it } from 'vitest';
import { testDaemonStatus, testPoolStatus } from '../supervisor/status-test-peer.ts';
import { formatMillis, formatStatus } from './status-format.ts';

describe('formatMillis', () => {
  it.each([
    [0, '0ms'],
    [0.44, '0.4ms'],
    [2.5, '2.5ms'],
    [250, '250ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [59_000, '59s'],
    [60_000, '1m 0s'],
    [65_400, '1m 5s'],
    [3_723_000, '1h 2m 3s'],
    [2 * 86_400_000 + 10_800_000 + 1000, '2d 3h 0m 1s'],
  ])('writes %d ms as %j', (ms, text) => {
    expect(formatMillis(ms)).toBe(text);
  });
});

describe('formatStatus', () => {
  it('prints the daemon, then each pool, in PHP-FPM words', () => {
    const api = testPoolStatus({
      name: 'api',
      pm: 'ondemand',
      runtime: 'python',
      idle: 0,
      busy: 0,
      accepted: 0,
      totalQueueWaitMs: 0,
      backoff: {
        state: 'backing-off',
        delayMs: 4000,
        failures: 3,
        lastFailure: 'runtime: python: cannot start "python9": spawn python9 ENOENT',
      },
    });
    const text = formatStatus(testDaemonStatus({ pools: [testPoolStatus(), api] }));
    const blocks = text.split('\n\n');
    expect(blocks).toHaveLength(3);
    expect(blocks[0]).toBe(
      [
        'pid:                  4242',
        'state:                running',
        'config file:          /etc/cgi-fpm/cgi-fpm.toml',
        'start time:           2026-01-02T03:04:05Z',
        'start since:          1h 2m 3s',
        'reloads:              1',
      ].join('\n'),
    );
    expect(blocks[1]).toBe(
      [
        'pool:                 blog',
        'process manager:      static',
        'runtime:              exec',
        'idle processes:       3',
        'active processes:     1',
        'spawning processes:   0',
        'total processes:      4',
        'max active processes: 3',
        'max children:         4',
        'queue length:         2',
        'max queue length:     7',
        'queue.max:            100',
        'queue wait max:       1.5s',
        'queue wait mean:      2.5ms',
        'accepted conn:        1200',
        'overloaded (503):     5',
        'max children reached: 9',
        'slow requests:        1',
        'restarts:             2',
        'respawns:             1',
        'scale-ups:            1',
        'crashes:              1',
        'killed:               0',
        'recycled:             1',
        'backoff:              none',
      ].join('\n'),
    );
    expect(blocks[2]).toContain('process manager:      ondemand\n');
    expect(blocks[2]).toContain('total processes:      0\n');
    expect(blocks[2]).toContain('queue wait mean:      0ms\n');
    expect(blocks[2]).toContain('backoff:              backing off: next respawn in 4s after 3 failures\n');
    expect(blocks[2]).toMatch(
      /last failure: {9}runtime: python: cannot start "python9": spawn python9 ENOENT\n$/,
    );
  });

  it('counts failures that did not (yet) lead to a backoff', () => {
    const pool = testPoolStatus({ backoff: { state: 'none', delayMs: 0, failures: 2 } });
    expect(formatStatus(testDaemonStatus({ pools: [pool] }))).toContain(
      'backoff:              none (2 recent failures)\n',
    );
  });

  it('says when there is no pool', () => {
    expect(formatStatus(testDaemonStatus({ pools: [], state: 'finishing' }))).toMatch(
      /state: +finishing\n[^]*\npools: none\n$/,
    );
  });
});
