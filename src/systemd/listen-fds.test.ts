// This file implements the tests of listen-fds.ts from the perspective of systemd passing
// sockets (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES) and of an operator whose unit and config
// must agree on the socket names.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.ts';
import { checkPassedSockets, parseListenFds, socketsByName } from './listen-fds.ts';

const PID = 4242;

describe('parseListenFds', () => {
  it.each([
    [
      'two named sockets',
      { LISTEN_FDS: '2', LISTEN_PID: '4242', LISTEN_FDNAMES: 'a:b' },
      [
        { name: 'a', fd: 3 },
        { name: 'b', fd: 4 },
      ],
    ],
    [
      'no names: "unknown", as libsystemd',
      { LISTEN_FDS: '2', LISTEN_PID: '4242' },
      [
        { name: 'unknown', fd: 3 },
        { name: 'unknown', fd: 4 },
      ],
    ],
    [
      'the unit name systemd gives by default',
      { LISTEN_FDS: '1', LISTEN_PID: '4242', LISTEN_FDNAMES: 'cgi-fpm.socket' },
      [{ name: 'cgi-fpm.socket', fd: 3 }],
    ],
    ['zero sockets', { LISTEN_FDS: '0', LISTEN_PID: '4242', LISTEN_FDNAMES: '' }, []],
    ['nothing passed', {}, []],
  ])('%s', (_what, env, sockets) => {
    expect(parseListenFds(env, PID)).toEqual({ sockets, ignored: undefined });
  });

  it.each([
    [{ LISTEN_FDS: '1' }, 'LISTEN_FDS is set but LISTEN_PID is not'],
    [{ LISTEN_FDS: '1', LISTEN_PID: '1', LISTEN_FDNAMES: 'a' }, 'LISTEN_PID=1 is not this process (4242)'],
  ])('ignores variables meant for another process: %j', (env, ignored) => {
    expect(parseListenFds(env, PID)).toEqual({ sockets: [], ignored });
  });

  it.each([
    [{ LISTEN_FDS: 'two', LISTEN_PID: '4242' }, 'systemd: LISTEN_FDS="two" is not a number of sockets'],
    [{ LISTEN_FDS: '-1', LISTEN_PID: '4242' }, 'systemd: LISTEN_FDS="-1" is not a number of sockets'],
    [
      { LISTEN_FDS: '2', LISTEN_PID: '4242', LISTEN_FDNAMES: 'a' },
      'systemd: LISTEN_FDNAMES="a" names 1 sockets, LISTEN_FDS=2',
    ],
    [
      { LISTEN_FDS: '1', LISTEN_PID: '4242', LISTEN_FDNAMES: 'a:b' },
      'systemd: LISTEN_FDNAMES="a:b" names 2 sockets, LISTEN_FDS=1',
    ],
  ])('refuses malformed variables: %j', (env, message) => {
    expect(() => parseListenFds(env, PID)).toThrow(
      expect.objectContaining({ code: ErrorCode.ERR_LISTEN_FDS, message }),
    );
  });
});

describe('socketsByName', () => {
  it('maps names to fds', () => {
    expect(
      socketsByName([
        { name: 'a', fd: 3 },
        { name: 'b', fd: 4 },
      ]),
    ).toEqual(
      new Map([
        ['a', 3],
        ['b', 4],
      ]),
    );
  });

  it('refuses two sockets with one name (one .socket unit with two ListenStream=)', () => {
    expect(() =>
      socketsByName([
        { name: 'web', fd: 3 },
        { name: 'web', fd: 4 },
      ]),
    ).toThrow(
      'systemd: sockets "web" (fd 3) and "web" (fd 4) share a name; give each ListenStream= its own .socket unit',
    );
  });
});

describe('checkPassedSockets', () => {
  const passed = new Map([
    ['a', 3],
    ['b', 4],
  ]);
  const unix = { kind: 'unix', path: '/run/x.sock' } as const;

  it('accepts sockets that pools use, shared or not, beside other addresses', () => {
    expect(() => {
      checkPassedSockets(passed, [
        { kind: 'systemd', name: 'a' },
        { kind: 'systemd', name: 'a' },
        { kind: 'systemd', name: 'b' },
        unix,
      ]);
    }).not.toThrow();
    expect(() => {
      checkPassedSockets(new Map(), [unix]);
    }).not.toThrow();
  });

  it('names a passed socket no pool listens on', () => {
    expect(() => {
      checkPassedSockets(passed, [{ kind: 'systemd', name: 'a' }]);
    }).toThrow(
      expect.objectContaining({
        code: ErrorCode.ERR_LISTEN_FDS,
        message: 'systemd: socket "b" (fd 4) passed but no pool listens on systemd:b',
      }),
    );
  });

  it('names every problem at once: missing and unused', () => {
    const addresses = [{ kind: 'systemd', name: 'c' } as const];
    expect(() => {
      checkPassedSockets(passed, addresses);
    }).toThrow(
      [
        'systemd: no socket named "c" was passed, but a pool listens on systemd:c (passed: "a" (fd 3), "b" (fd 4))',
        'systemd: socket "a" (fd 3) passed but no pool listens on systemd:a',
        'systemd: socket "b" (fd 4) passed but no pool listens on systemd:b',
      ].join('\n'),
    );
    expect(() => {
      checkPassedSockets(new Map(), addresses);
    }).toThrow('(passed: none)');
  });
});
