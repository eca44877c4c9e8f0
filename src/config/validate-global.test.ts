// This file implements the tests of validate-global.ts, loadGlobalConfig and the `[global]`
// part of format.ts from the perspective of an operator writing `control_socket` and
// `process_control_timeout`: defaults, relative paths, limits, and every problem at once.

import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ErrorCode } from '../errors.ts';
import { formatConfigToml } from './format.ts';
import { configProblems, loadGlobalConfig, parseConfig } from './load.ts';

let dir: string;
let file: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-global-')));
  file = join(dir, 'cgi-fpm.toml');
  await mkdir(join(dir, 'cgi-bin'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const POOL = '[pools.blog]\nlisten = "/run/cgi-fpm/blog.sock"\nroot = "cgi-bin"\n';

async function global(lines: string) {
  return (await parseConfig(`[global]\n${lines}\n${POOL}`, file)).global;
}

/** The message of each problem `text` has (fails when it has none). */
async function problems(text: string): Promise<string[]> {
  const error: unknown = await parseConfig(text, file).then(
    () => new Error('expected config problems'),
    (e: unknown) => e,
  );
  if (!(error instanceof ConfigError)) throw error;
  return configProblems(error).map((e) => e.message.replace(file, 'FILE'));
}

describe('[global] control_socket and process_control_timeout', () => {
  it('defaults to no control socket and a 10 s process_control_timeout', async () => {
    expect((await parseConfig(POOL, file)).global).toEqual({
      logLevel: 'info',
      controlSocket: undefined,
      processControlTimeoutMs: 10_000,
      clientHeaderTimeoutMs: 60_000,
      keepaliveTimeoutMs: 75_000,
    });
    expect(await global('log_level = "warn"')).toEqual({
      logLevel: 'warn',
      controlSocket: undefined,
      processControlTimeoutMs: 10_000,
      clientHeaderTimeoutMs: 60_000,
      keepaliveTimeoutMs: 75_000,
    });
  });

  it('resolves a relative control_socket against the config file directory', async () => {
    expect((await global('control_socket = "run/control.sock"')).controlSocket).toBe(
      join(dir, 'run/control.sock'),
    );
    expect((await global('control_socket = "/run/cgi-fpm/control.sock"')).controlSocket).toBe(
      '/run/cgi-fpm/control.sock',
    );
  });

  it.each([
    ['"30s"', 30_000],
    ['"1m"', 60_000],
    ['5', 5_000],
    ['0', 0],
  ])('reads process_control_timeout = %s as %i ms', async (value, ms) => {
    expect((await global(`process_control_timeout = ${value}`)).processControlTimeoutMs).toBe(ms);
  });

  it.each([
    ['control_socket = ""', 'global.control_socket must not be empty, got ""'],
    ['control_socket = 1', 'global.control_socket must be a string, got 1'],
    [
      `control_socket = "/${'x'.repeat(107)}"`,
      `global.control_socket: invalid socket path "/${'x'.repeat(107)}": the socket path is 108 bytes, more than the 107 unix sockets allow`,
    ],
    [
      'process_control_timeout = "10 s"',
      'global.process_control_timeout: invalid duration "10 s": expected a whole number followed by ms, s, m, h or d (a bare number is seconds)',
    ],
    ['process_control_timeout = -1', 'global.process_control_timeout: invalid duration -1'],
    ['control_sock = "x"', 'unknown key "global.control_sock" (did you mean "global.control_socket"?)'],
  ])('refuses %s', async (line, detail) => {
    const [message, ...rest] = await problems(`[global]\n${line}\n${POOL}`);
    expect(rest).toEqual([]);
    expect(message).toContain(`config: FILE: ${detail}`);
  });

  it('accepts a control socket path of exactly 107 bytes once resolved', async () => {
    const name = 'c'.repeat(107 - dir.length - 1);
    expect((await global(`control_socket = "${name}"`)).controlSocket).toBe(join(dir, name));
    await expect(global(`control_socket = "${name}c"`)).rejects.toThrow('the socket path is 108 bytes');
  });

  it('reports a bad control_socket together with the other problems of [global]', async () => {
    const long = `/${'x'.repeat(200)}`;
    expect(await problems(`[global]\nlog_level = "loud"\ncontrol_socket = "${long}"\n${POOL}`)).toEqual([
      'config: FILE: global.log_level must be one of "trace", "debug", "info", "warn", "error", "fatal", got "loud"',
      `config: FILE: global.control_socket: invalid socket path "${long}": the socket path is 201 bytes, more than the 107 unix sockets allow`,
    ]);
  });

  it('refuses a control_socket that is also a pool listen path', async () => {
    const text = `[global]\ncontrol_socket = "/run/cgi-fpm/blog.sock"\n${POOL}`;
    const error = await parseConfig(text, file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe('global.control_socket');
    expect(await problems(text)).toEqual([
      'config: FILE: global.control_socket must differ from every pool\'s listen path, got "/run/cgi-fpm/blog.sock", which pool "blog" listens on',
    ]);
  });
});

describe('loadGlobalConfig', () => {
  it('reads [global] of a file whose pools are invalid', async () => {
    const path = join(dir, 'editing.toml');
    await writeFile(path, '[global]\ncontrol_socket = "c.sock"\n[pools.blog]\n"pm.max_children" = 0\n');
    await expect(parseConfig('[pools.blog]\n"pm.max_children" = 0\n', path)).rejects.toThrow(ConfigError);
    expect(await loadGlobalConfig(path)).toEqual({
      logLevel: 'info',
      controlSocket: join(dir, 'c.sock'),
      processControlTimeoutMs: 10_000,
      clientHeaderTimeoutMs: 60_000,
      keepaliveTimeoutMs: 75_000,
    });
  });

  it('throws for an unreadable file, invalid TOML, or an invalid [global]', async () => {
    await expect(loadGlobalConfig(join(dir, 'absent.toml'))).rejects.toMatchObject({
      code: ErrorCode.ERR_CONFIG_READ,
    });
    const syntax = join(dir, 'syntax.toml');
    await writeFile(syntax, '[global\n');
    await expect(loadGlobalConfig(syntax)).rejects.toMatchObject({ code: ErrorCode.ERR_CONFIG_SYNTAX });
    const bad = join(dir, 'bad-global.toml');
    await writeFile(bad, '[global]\ncontrol_socket = 5\n');
    await expect(loadGlobalConfig(bad)).rejects.toThrow(
      `config: ${bad}: global.control_socket must be a string, got 5`,
    );
  });
});

describe('formatConfigToml: [global]', () => {
  it('writes control_socket when set and process_control_timeout always, and loads back equal', async () => {
    const config = await parseConfig(
      `[global]\ncontrol_socket = "c.sock"\nprocess_control_timeout = 90\n${POOL}`,
      file,
    );
    const text = formatConfigToml(config);
    expect(parse(text).global).toEqual({
      log_level: 'info',
      control_socket: join(dir, 'c.sock'),
      process_control_timeout: '90s',
      client_header_timeout: '1m',
      keepalive_timeout: '75s',
    });
    expect((await parseConfig(text, join(dir, 'again.toml'))).global).toEqual(config.global);
  });

  it('leaves control_socket out when there is none, and writes a 0 timeout as 0', async () => {
    const text = formatConfigToml(await parseConfig(`[global]\nprocess_control_timeout = 0\n${POOL}`, file));
    expect(parse(text).global).toEqual({
      log_level: 'info', process_control_timeout: 0, client_header_timeout: '1m', keepalive_timeout: '75s',
    });
  });
});

describe('[global] client_header_timeout and keepalive_timeout', () => {
  it('reads durations, 0 = no limit', async () => {
    const read = await global('client_header_timeout = "2s"\nkeepalive_timeout = 0');
    expect([read.clientHeaderTimeoutMs, read.keepaliveTimeoutMs]).toEqual([2000, 0]);
  });
});
