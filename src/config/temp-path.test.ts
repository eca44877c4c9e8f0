// This file implements the tests of `[global] fastcgi_temp_path` from the perspective of an
// operator writing it: a relative path resolves against the config file's directory, the
// directory must exist when the config is loaded, and a problem names the key, value and cause.
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { globalToToml } from './format.ts';
import { parseConfig } from './load.ts';

let dir: string;
let file: string;
let root: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-temp-path-')));
  file = join(dir, 'cgi-fpm.toml');
  root = join(dir, 'cgi-bin');
  await mkdir(root);
  await mkdir(join(dir, 'spill'));
  await writeFile(join(dir, 'a-file'), '');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(global: string): string {
  return `[global]\n${global}\n[pools.www]\nlisten = "/run/cgi-fpm/www.sock"\nroot = "${root}"\n`;
}

async function problem(global: string): Promise<string> {
  const err = await parseConfig(config(global), file).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  return (err as Error).message;
}

describe('[global] fastcgi_temp_path', () => {
  it('is unset by default (the system temp directory is used)', async () => {
    expect((await parseConfig(config(''), file)).global.fastcgiTempPath).toBeUndefined();
  });

  it('resolves a relative path against the config file directory', async () => {
    const { global } = await parseConfig(config('fastcgi_temp_path = "spill"'), file);
    expect(global.fastcgiTempPath).toBe(join(dir, 'spill'));
    expect(globalToToml(global)).toMatchObject({ fastcgi_temp_path: join(dir, 'spill') }); // cgi-fpm check shows it
  });

  it('refuses a directory that does not exist, a file, and an empty string, naming the key and value', async () => {
    expect(await problem('fastcgi_temp_path = "missing"')).toContain(
      `global.fastcgi_temp_path must be an existing directory, got ${JSON.stringify(join(dir, 'missing'))}`);
    expect(await problem('fastcgi_temp_path = "a-file"')).toContain('not a directory');
    expect(await problem('fastcgi_temp_path = ""')).toContain('global.fastcgi_temp_path');
  });
});
