// This file implements the tests of `cgi-fpm check` from the perspective of an operator
// validating a config file before a (re)start: TOML on stdout and exit 0, or each problem on
// its own stderr line and exit 78.

import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../main.ts';
import { checkCommand } from './check.ts';

let dir: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-check-')));
  await mkdir(join(dir, 'cgi-bin'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

function capture() {
  const io = { out: [] as string[], err: [] as string[] };
  return {
    ...io,
    stdout: (text: string) => io.out.push(text),
    stderr: (text: string) => io.err.push(text),
  };
}

describe('cgi-fpm check', () => {
  it('prints the effective config and exits 0', async () => {
    const file = await configFile(
      'ok.toml',
      '[pools.blog]\nlisten = "blog.sock"\nroot = "cgi-bin"\npm.max_children = 2\n',
    );
    const io = capture();
    expect(await runCli(['check', '-c', file], io)).toBe(0);
    expect(io.err).toEqual([]);
    expect(parse(io.out.join(''))).toMatchObject({
      global: { log_level: 'info' },
      pools: {
        blog: {
          listen: join(dir, 'blog.sock'),
          root: join(dir, 'cgi-bin'),
          'pm.max_children': 2,
          'queue.max': 100,
        },
      },
    });
  });

  it('prints each problem on its own line and exits 78', async () => {
    const text =
      '[pools.blog]\nlisten = "blog.sock"\nroot = "cgi-bin"\n"pm.max_chidren" = 4\n"queue.max" = -1\n';
    const file = await configFile('bad.toml', text);
    const io = capture();
    expect(await runCli(['check', '-c', file], io)).toBe(78);
    expect(io.out).toEqual([]);
    expect(io.err).toEqual([
      `config: ${file}: pool "blog": queue.max must be ≥ 0, got -1\n`,
      `config: ${file}: pool "blog": unknown key "pm.max_chidren" (did you mean "pm.max_children"?)\n`,
    ]);
  });

  it('exits 78 for a syntax error, naming the line and how to quote the key', async () => {
    const file = await configFile(
      'syntax.toml',
      '[pools.blog]\nlisten = "blog.sock"\nlisten.mode = "0660"\n',
    );
    const io = capture();
    expect(await checkCommand({ config: file }, io)).toBe(78);
    expect(io.err).toHaveLength(1);
    expect(io.err[0]).toContain(`config: ${file}:3:1: invalid TOML`);
    expect(io.err[0]).toContain('quote the dotted key: "listen.mode" = "0660"');
  });

  it('exits 78 for a file that cannot be read', async () => {
    const io = capture();
    expect(await checkCommand({ config: join(dir, 'absent.toml') }, io)).toBe(78);
    expect(io.err).toEqual([
      `config: ${join(dir, 'absent.toml')}: cannot read the config file: ENOENT (no such file or directory)\n`,
    ]);
  });
});
