// This file implements the tests of environment.ts from the perspective of systemd setting
// NOTIFY_SOCKET and the watchdog for the main process, and of workers that must not see them.
import { describe, expect, it } from 'vitest';
import { childEnvironment, readNotifyEnv } from './environment.ts';

const PID = 4242;

describe('readNotifyEnv', () => {
  it.each([
    ['nothing set', {}, { notifySocket: undefined, watchdogIntervalMs: undefined }],
    [
      'a socket path',
      { NOTIFY_SOCKET: '/run/systemd/notify' },
      { notifySocket: '/run/systemd/notify', watchdogIntervalMs: undefined },
    ],
    [
      'an abstract socket',
      { NOTIFY_SOCKET: '@/org/x' },
      { notifySocket: '@/org/x', watchdogIntervalMs: undefined },
    ],
    ['an empty socket', { NOTIFY_SOCKET: '' }, { notifySocket: undefined, watchdogIntervalMs: undefined }],
    [
      'a watchdog: ping at half the period',
      { WATCHDOG_USEC: '30000000' },
      { notifySocket: undefined, watchdogIntervalMs: 15_000 },
    ],
    [
      'a watchdog for this pid',
      { WATCHDOG_USEC: '1000000', WATCHDOG_PID: '4242' },
      { notifySocket: undefined, watchdogIntervalMs: 500 },
    ],
    [
      'a watchdog for another pid',
      { WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' },
      { notifySocket: undefined, watchdogIntervalMs: undefined },
    ],
    [
      'a tiny watchdog: 1 ms at least',
      { WATCHDOG_USEC: '1' },
      { notifySocket: undefined, watchdogIntervalMs: 1 },
    ],
    [
      'a zero watchdog: off',
      { WATCHDOG_USEC: '0' },
      { notifySocket: undefined, watchdogIntervalMs: undefined },
    ],
    [
      'a malformed watchdog: off',
      { WATCHDOG_USEC: '30s' },
      { notifySocket: undefined, watchdogIntervalMs: undefined },
    ],
  ])('%s', (_what, env, expected) => {
    expect(readNotifyEnv(env, PID)).toEqual(expected);
  });
});

describe('childEnvironment', () => {
  it('removes what systemd meant for the main process only, and copies the rest', () => {
    const env = {
      PATH: '/usr/bin',
      LISTEN_FDS: '2',
      LISTEN_PID: '4242',
      LISTEN_FDNAMES: 'a:b',
      NOTIFY_SOCKET: '/run/systemd/notify',
      WATCHDOG_USEC: '1',
      WATCHDOG_PID: '4242',
      INVOCATION_ID: 'x',
    };
    expect(childEnvironment(env)).toEqual({ PATH: '/usr/bin', INVOCATION_ID: 'x' });
    expect(env.LISTEN_FDS).toBe('2');
  });
});
