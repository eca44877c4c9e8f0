// This file implements the tests of validate.ts and issues.ts (through parseConfig) from the
// perspective of an operator whose config file is wrong: every problem reported at once, each
// naming the file, pool, key and value, with "did you mean" for misspelled keys.

import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ErrorCode } from '../errors.ts';
import { ConfigErrorList, configProblems, parseConfig } from './load.ts';

let dir: string;
let file: string;
let root: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-validate-')));
  file = join(dir, 'cgi-fpm.toml');
  root = join(dir, 'cgi-bin');
  await mkdir(root);
  await writeFile(join(dir, 'not-a-dir'), '');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function pool(body: string, name = 'blog'): string {
  return `[pools.${name}]\nlisten = "/run/cgi-fpm/${name}.sock"\nroot = "${root}"\n${body}\n`;
}

/** The message of each problem `text` has (fails when it has none). */
async function problems(text: string): Promise<string[]> {
  try {
    await parseConfig(text, file);
  } catch (error) {
    if (error instanceof ConfigError)
      return configProblems(error).map((e) => e.message.replace(file, 'FILE'));
    throw error;
  }
  throw new Error('expected config problems');
}

describe('parseConfig: problems', () => {
  it('names the file, pool, key and value of a value out of range', async () => {
    expect(await problems(pool('"pm.max_children" = 0\n'))).toEqual([
      'config: FILE: pool "blog": pm.max_children must be ≥ 1, got 0',
    ]);
  });

  it('names an unknown key and suggests the near miss', async () => {
    expect(await problems(pool('"pm.max_chidren" = 4\n'))).toEqual([
      'config: FILE: pool "blog": unknown key "pm.max_chidren" (did you mean "pm.max_children"?)',
    ]);
    expect(await problems(pool('pm.max_chidren = 4\n'))).toEqual([
      'config: FILE: pool "blog": unknown key "pm.max_chidren" (did you mean "pm.max_children"?)',
    ]);
  });

  it('rejects unknown keys at the top level and in [global]', async () => {
    expect(await problems(`[pool.x]\n[global]\nlog_levle = "info"\ncolour = 1\n${pool('')}`)).toEqual([
      'config: FILE: unknown key "pool" (did you mean "pools"?)',
      'config: FILE: unknown key "global.log_levle" (did you mean "global.log_level"?)',
      'config: FILE: unknown key "global.colour"',
    ]);
    expect(await problems(`user = "www"\n${pool('')}`)).toEqual([
      'config: FILE: unknown key "user"; keys belong in [global] or a [pools.NAME] table',
    ]);
  });

  it('reports every problem of the file at once, as one ConfigError', async () => {
    const text = `[global]\nlog_level = "verbose"\n[pools.blog]\nlisten = "9000"\nroot = "missing"
"pm.max_children" = 0\nrequest_terminate_timeout = "5 minutes"\nstderr = "both"\n${pool('queue.max = -1', 'api')}`;
    await expect(parseConfig(text, file)).rejects.toBeInstanceOf(ConfigErrorList);
    expect(await problems(text)).toEqual([
      'config: FILE: global.log_level must be one of "trace", "debug", "info", "warn", "error", "fatal", got "verbose"',
      'config: FILE: pool "blog": pm.max_children must be ≥ 1, got 0',
      'config: FILE: pool "blog": request_terminate_timeout: invalid duration "5 minutes": expected a whole number followed by ms, s, m, h or d (a bare number is seconds)',
      'config: FILE: pool "blog": stderr must be one of "log", "forward", got "both"',
      'config: FILE: pool "blog": listen: invalid listen address "9000": a bare port is ambiguous; write "127.0.0.1:9000" or "0.0.0.0:9000"',
      `config: FILE: pool "blog": root must be an existing directory, got "missing" (${join(dir, 'missing')}): ENOENT (no such file or directory)`,
      'config: FILE: pool "api": queue.max must be ≥ 0, got -1',
    ]);
  });

  it('carries the pool and key on each problem', async () => {
    const error = await parseConfig(pool('"pm.max_children" = 0\nstderr = 1\n'), file).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigErrorList);
    expect((error as ConfigErrorList).errors.map((e) => [e.code, e.file, e.pool, e.key])).toEqual([
      [ErrorCode.ERR_CONFIG_INVALID, file, 'blog', 'pm.max_children'],
      [ErrorCode.ERR_CONFIG_INVALID, file, 'blog', 'stderr'],
    ]);
  });

  it('refuses a key given both quoted and bare', async () => {
    expect(await problems(pool('pm.max_children = 3\n"pm.max_children" = 4\n'))).toEqual([
      'config: FILE: pool "blog": key "pm.max_children" is given twice, as the quoted key "pm.max_children" and through a bare dotted key or table; keep one',
    ]);
  });

  it.each([
    ['runtime = "perl"', 'runtime must be one of "exec", "python", "node", "handler", got "perl"'],
    ['runtime = "handler"', 'runtime "handler" needs handler.module (the module exporting the handler)'],
    ['"handler.module" = "app.js"', 'handler.module is only used with runtime = "handler", got runtime = "exec"'],
    ['"state.modules" = "warm"', 'state.modules must be one of "reset", "keep", got "warm"'],
    ['isolation = "fork"', 'isolation = "fork" is only available with runtime = "python", got runtime = "exec"'],
    ['isolation = "thread"', 'isolation must be one of "persistent", "fork", got "thread"'],
    ['preload = ["cgi"]', 'preload is only used with runtime = "python", got runtime = "exec"'],
    ['runtime = "python"\npreload = ["cgi; import os"]', 'preload[0] must be a dotted module name such as "mercurial.hgweb", got "cgi; import os"'],
    [
      'runtime = "python"\nisolation = "fork"\n"state.globals" = "keep"',
      'state.globals = "keep" cannot apply with isolation = "fork": every request starts from a fresh fork',
    ],
    ['"handler.concurrency" = 0', 'handler.concurrency must be ≥ 1, got 0'],
    ['"exec.kill_group_at_end" = "yes"', 'exec.kill_group_at_end must be true or false, got "yes"'],
    ['runtime = "python"\n"exec.kill_group_at_end" = false', 'exec.kill_group_at_end is only used with runtime = "exec", got runtime = "python"'],
    ['pm = "sometimes"', 'pm must be one of "static", "dynamic", "ondemand", got "sometimes"'],
    ['pm = "dynamic"\n"pm.min_spare_servers" = 4\n"pm.max_spare_servers" = 2', 'pm.min_spare_servers must be ≤ pm.max_spare_servers (2), got 4'],
    ['pm = "dynamic"\n"pm.max_children" = 2\n"pm.max_spare_servers" = 3', 'pm.max_spare_servers must be ≤ pm.max_children (2), got 3'],
    ['pm = "dynamic"\n"pm.start_servers" = 5', 'pm.start_servers must be between pm.min_spare_servers (1) and pm.max_spare_servers (3), got 5'],
    ['"pm.max_memory" = "lots"', 'pm.max_memory: invalid size'],
    [
      '"listen.mode" = 660',
      'listen.mode: invalid socket mode 660: write it as an octal string such as "0660"',
    ],
    ['"listen.backlog" = 0', 'listen.backlog must be ≥ 1, got 0'],
    ['"pm.max_children" = 1.5', 'pm.max_children must be an integer, got 1.5'],
    ['"pm.max_children" = "4"', 'pm.max_children must be an integer, got "4"'],
    [
      '"queue.timeout" = true',
      'queue.timeout: invalid duration true: expected a string such as "30s" or a number of seconds',
    ],
    ['match = []', 'match must list at least 1 entry, got []'],
    ['match = "*.py"', 'match must be an array, got "*.py"'],
    ['match = [""]', 'match[0] must not be empty, got ""'],
    [
      'match = ["/cgi-bin/*.py"]',
      'match[0]: invalid glob "/cgi-bin/*.py": globs are relative to root; drop the leading "/"',
    ],
    ['match = ["*.{py"]', 'match[0]: invalid glob "*.{py": Missing closing: "}"'],
    [
      'match = ["(?<=a)b.py"]',
      'match[0]: invalid glob "(?<=a)b.py": its expression holds a lookbehind, which python matches only at a fixed width',
    ],
    ['env = { PORT = 8080 }', 'env.PORT must be a string, got 8080'],
    ['env = { "A=B" = "x" }', 'env."A=B" is not a valid name (names must be non-empty, without "=" or NUL)'],
    ['env = "A=1"', 'env must be a table, got "A=1"'],
    ['clear_env = "yes"', 'clear_env must be true or false, got "yes"'],
    ['stderr = 1979-05-27', 'stderr must be one of "log", "forward", got 1979-05-27'],
  ])('refuses %s', async (line, detail) => {
    const [message, ...rest] = await problems(pool(line));
    expect(rest).toEqual([]);
    expect(message).toContain(`config: FILE: pool "blog": ${detail}`);
  });

  it('requires listen and root', async () => {
    expect(await problems('[pools.blog]\n')).toEqual([
      'config: FILE: pool "blog": listen is required',
      'config: FILE: pool "blog": root is required',
    ]);
  });

  it('checks that root is a directory', async () => {
    expect(await problems('[pools.blog]\nlisten = "/x.sock"\nroot = "not-a-dir"\n')).toEqual([
      `config: FILE: pool "blog": root must be an existing directory, got "not-a-dir" (${join(dir, 'not-a-dir')}): not a directory`,
    ]);
  });

  it.each([
    ['', 'config: FILE: no pool defined: add a [pools.NAME] table with listen and root'],
    ['[pools]\n', 'config: FILE: no pool defined: add a [pools.NAME] table with listen and root'],
    ['pools = 1\n', 'config: FILE: pools must be a table of pools ([pools.NAME]), got 1'],
    [
      'global = "x"\n[pools.a]\nlisten = "/a.sock"\nroot = "cgi-bin"\n',
      'config: FILE: global must be a table ([global]), got "x"',
    ],
    ['[pools]\nblog = 3\n', 'config: FILE: pool "blog": must be a table ([pools.blog]), got 3'],
  ])('refuses the file shape of %j', async (text, message) => {
    expect(await problems(text)).toEqual([message]);
  });

  it('refuses a pool name outside [A-Za-z0-9_-]', async () => {
    expect(await problems('[pools."my.blog"]\nlisten = "/a.sock"\nroot = "cgi-bin"\n')).toEqual([
      'config: FILE: pool "my.blog": the pool name must match /^[A-Za-z0-9_-]+$/ (letters, digits, "_", "-"), got "my.blog"',
    ]);
  });
});
