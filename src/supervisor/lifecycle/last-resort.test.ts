// This file implements the tests of last-resort.ts from the perspective of an operator reading
// the log after a bug: every uncaught error is logged; the daemon serves on when its state is
// sound and exits 70 otherwise, and a storm of errors always ends it.
import { describe, expect, it } from 'vitest';
import { DaemonError, ErrorCode } from '../../errors.ts';
import { createLogger } from '../../log/logger.ts';
import { installLastResort, lastResortVerdict, STORM_LIMIT } from './last-resort.ts';

describe('lastResortVerdict', () => {
  it('serves on after a rejection or a coded error, exits after any other exception or a storm', () => {
    expect(lastResortVerdict('unhandledRejection', new TypeError('x'), 1)).toBe('serve');
    expect(lastResortVerdict('uncaughtException', new DaemonError(ErrorCode.ERR_FCGI_PROTOCOL, 'fastcgi: x'), 1)).toBe('serve');
    expect(lastResortVerdict('uncaughtException', new RangeError('x'), 1)).toBe('exit');
    expect(lastResortVerdict('unhandledRejection', 'x', STORM_LIMIT + 1)).toBe('exit');
  });
});

describe('installLastResort', () => {
  it('logs each error and exits 70 when the verdict says so; removing it restores the handlers', () => {
    const lines: string[] = [];
    const log = createLogger({ output: { file: '/dev/null', write: (text) => { lines.push(text); }, reopen: () => undefined } });
    const exits: number[] = [];
    const before = process.listeners('uncaughtException').length;
    const remove = installLastResort({ log, now: () => 0, exit: (code) => exits.push(code) });
    const onException = process.listeners('uncaughtException').at(-1) as (err: Error) => void;
    const onRejection = process.listeners('unhandledRejection').at(-1) as (reason: unknown) => void;
    onRejection(new Error('a promise nobody awaited'));
    expect(exits).toEqual([]);
    onException(new TypeError('a bug'));
    expect(exits).toEqual([70]);
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; kind: string });
    expect(logged.map((l) => [l.kind, l.msg])).toEqual([
      ['unhandledRejection', 'uncaught error, still serving'],
      ['uncaughtException', 'uncaught error, exiting for the service manager to restart the daemon'],
    ]);
    remove();
    expect(process.listeners('uncaughtException').length).toBe(before);
  });
});
