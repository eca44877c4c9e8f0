// This file implements the tests of main.ts from the perspective of an operator typing
// `cgi-fpm …`: parsing, usage errors (64), `--version`, `--help`, and `start` handing over to
// the daemon (start.ts, mocked here) with its exit code.

import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, ErrorCode } from '../errors.ts';
import { buildCli, runCli, UsageError } from './main.ts';
import type { CliContext, CliIo } from './io.ts';

const startCommand = vi.hoisted(() =>
  vi.fn<(args: { config: string; http?: string | undefined; notifyFd?: number | undefined }) => Promise<number>>(),
);
vi.mock('./commands/start.ts', () => ({ startCommand }));

interface Captured extends CliIo {
  out: string;
  err: string;
}

function capture(): Captured {
  const io: Captured = {
    out: '',
    err: '',
    stdout: (text) => {
      io.out += text;
    },
    stderr: (text) => {
      io.err += text;
    },
  };
  return io;
}

beforeEach(() => {
  startCommand.mockReset();
});

describe('buildCli', () => {
  it('parses check -c FILE', async () => {
    const context: CliContext = { io: capture(), exitCode: 0 };
    const args = await buildCli(['check', '-c', '/nowhere/x.toml'], context).parseAsync();
    expect(args._).toEqual(['check']);
    expect(args.config).toBe('/nowhere/x.toml');
    expect(context.exitCode).toBe(78);
  });

  it('defaults --config to /etc/cgi-fpm/cgi-fpm.toml and accepts the long form', async () => {
    const context: CliContext = { io: capture(), exitCode: 0 };
    expect((await buildCli(['check'], context).parseAsync()).config).toBe('/etc/cgi-fpm/cgi-fpm.toml');
    const long = await buildCli(['check', '--config=/a/../b.toml'], context).parseAsync();
    expect(long.config).toBe('/b.toml');
  });

  it('throws usage errors instead of exiting', async () => {
    const context: CliContext = { io: capture(), exitCode: 0 };
    // yargs throws synchronously when validation fails synchronously: wrap to see both kinds.
    const parse = async (argv: string[]) => buildCli(argv, context).parseAsync();
    await expect(parse(['check', '--nope'])).rejects.toBeInstanceOf(UsageError);
    await expect(parse(['check', '--nope'])).rejects.toThrow('Unknown argument: nope');
    await expect(parse([])).rejects.toThrow('name a command');
  });
});

describe('runCli', () => {
  it.each([
    [[], 'name a command: check, start, status, reload, stop or worker'],
    [['chek'], 'Did you mean check?'],
    [['check', '--bogus'], 'Unknown argument: bogus'],
    [['check', 'extra'], 'Unknown argument: extra'],
    [['check', '-c'], 'Not enough arguments following: c'],
    [['start', '--http'], 'Not enough arguments following: http'],
    [['start', '--notify-fd'], 'Not enough arguments following: notify-fd'],
    [['start', '--notify-fd', '2'], '--notify-fd must be a file descriptor number of 3 or more, got 2'],
    [['start', '--notify-fd', 'x'], '--notify-fd must be a file descriptor number of 3 or more, got NaN'],
    [['start', '--notify-fd', '3.5'], '--notify-fd must be a file descriptor number of 3 or more, got 3.5'],
    [['start', '--ready-timeout', '1.5s'], '--ready-timeout: invalid duration'],
    [['start', '--ready-timeout'], 'Not enough arguments following: ready-timeout'],
  ])('exits 64 (EX_USAGE) for %j', async (argv, message) => {
    const io = capture();
    expect(await runCli(argv, io)).toBe(64);
    expect(io.err).toContain(`cgi-fpm: ${message}`);
    expect(io.err).toContain('Run "cgi-fpm --help" for usage.');
    expect(startCommand).not.toHaveBeenCalled();
  });

  it('prints the package version', async () => {
    const io = capture();
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(await runCli(['--version'], io)).toBe(0);
    expect(io.out).toBe(`${version}\n`);
  });

  it('prints help listing the commands', async () => {
    const io = capture();
    expect(await runCli(['--help'], io)).toBe(0);
    expect(io.out).toContain('cgi-fpm check');
    expect(io.out).toContain('cgi-fpm start');
    const start = capture();
    expect(await runCli(['start', '--help'], start)).toBe(0);
    expect(start.out).toContain('--http');
    expect(start.out).toContain('--config');
    expect(startCommand).not.toHaveBeenCalled();
  });

  it('hands start over to start.ts with the config and --http, and exits with its code', async () => {
    startCommand.mockResolvedValue(0);
    expect(await runCli(['start', '-c', '/etc/x.toml', '--http', '127.0.0.1:8080'], capture())).toBe(0);
    expect(startCommand).toHaveBeenCalledWith({ config: '/etc/x.toml', http: '127.0.0.1:8080' });
    startCommand.mockResolvedValue(78);
    expect(await runCli(['start'], capture())).toBe(78);
    expect(startCommand).toHaveBeenLastCalledWith({ config: '/etc/cgi-fpm/cgi-fpm.toml' });
  });

  it('hands --notify-fd (s6 readiness) over to start.ts as a number', async () => {
    startCommand.mockResolvedValue(0);
    expect(await runCli(['start', '--notify-fd', '5'], capture())).toBe(0);
    expect(startCommand).toHaveBeenCalledWith({ config: '/etc/cgi-fpm/cgi-fpm.toml', notifyFd: 5 });
  });

  it('takes the last --http (npm start -- --http ADDR overrides the script\'s) and --ready-timeout as ms', async () => {
    startCommand.mockResolvedValue(0);
    const argv = ['start', '--http', '127.0.0.1:8080', '--http', '0.0.0.0:9000', '--ready-timeout', '90s'];
    expect(await runCli(argv, capture())).toBe(0);
    expect(startCommand).toHaveBeenCalledWith({ config: '/etc/cgi-fpm/cgi-fpm.toml', http: '0.0.0.0:9000', readyTimeoutMs: 90_000 });
  });

  it('exits 78 (EX_CONFIG) for a ConfigError that escapes a command', async () => {
    const file = '/etc/x.toml';
    startCommand.mockRejectedValue(
      new ConfigError(ErrorCode.ERR_CONFIG_INVALID, `config: ${file}: bad`, { file }),
    );
    const io = capture();
    expect(await runCli(['start', '-c', file], io)).toBe(78);
    expect(io.err).toBe('config: /etc/x.toml: bad\n');
  });

  it('exits 70 (EX_SOFTWARE) for any other error, with its stack', async () => {
    startCommand.mockRejectedValue(new Error('kaboom'));
    const io = capture();
    expect(await runCli(['start'], io)).toBe(70);
    expect(io.err).toMatch(/^cgi-fpm: internal error: Error: kaboom\n\s+at /);
  });
});
