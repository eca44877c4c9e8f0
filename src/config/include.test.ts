// This file implements the tests of `include` (include.ts, sources.ts) from the perspective of a
// host that keeps one file per customer in pool.d/: globs relative to the including file, files
// read in sorted order, relative paths resolved against each file's own directory, and every
// problem naming the included file and key.

import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, ErrorCode } from '../errors.ts';
import { configProblems, parseConfig } from './load.ts';

let dir: string;
let main: string;

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-include-')));
  main = join(dir, 'cgi-fpm.toml');
  await mkdir(join(dir, 'pool.d'));
  await mkdir(join(dir, 'www'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pool table whose root and listen are relative to the file that holds it. */
function pool(name: string, root = '../www'): string {
  return `[pools.${name}]\nlisten = "${name}.sock"\nroot = "${root}"\n`;
}

async function problemsOf(text: string, env: Record<string, string> = {}): Promise<string[]> {
  try {
    await parseConfig(text, main, undefined, env);
  } catch (error) {
    if (error instanceof ConfigError) return configProblems(error).map((e) => e.message);
    throw error;
  }
  throw new Error('expected problems');
}

describe('include', () => {
  it('reads the matching files in sorted order, after the main file, each with its own relative paths', async () => {
    await writeFile(join(dir, 'pool.d', 'b.toml'), pool('bravo'));
    await writeFile(join(dir, 'pool.d', 'a.toml'), pool('alpha'));
    await writeFile(join(dir, 'pool.d', 'notes.txt'), 'not included');
    await writeFile(join(dir, 'pool.d', '.hidden.toml'), pool('hidden'));
    const config = await parseConfig(`include = ["pool.d/*.toml"]\n${pool('main', 'www')}`, main);
    expect(config.pools.map((p) => p.name)).toEqual(['main', 'alpha', 'bravo']);
    expect(config.included).toEqual([join(dir, 'pool.d', 'a.toml'), join(dir, 'pool.d', 'b.toml')]);
    expect(config.pools.map((p) => p.root)).toEqual([join(dir, 'www'), join(dir, 'www'), join(dir, 'www')]);
    expect(config.pools[1]!.listen.address).toEqual({ kind: 'unix', path: join(dir, 'pool.d', 'alpha.sock') });
  });

  it('takes one string, absolute globs, ** across directories, and a literal file', async () => {
    await mkdir(join(dir, 'pool.d', 'shop'));
    await writeFile(join(dir, 'pool.d', 'shop', 'c.toml'), pool('charlie', '../../www'));
    await writeFile(join(dir, 'pool.d', 'a.toml'), pool('alpha'));
    const deep = await parseConfig(`include = "${dir}/pool.d/**/*.toml"`, main);
    expect(deep.pools.map((p) => p.name)).toEqual(['alpha', 'charlie']);
    const literal = await parseConfig('include = ["pool.d/a.toml", "pool.d/a.toml"]', main);
    expect(literal.pools.map((p) => p.name)).toEqual(['alpha']);
  });

  it('expands ${NAME} in included files', async () => {
    await writeFile(join(dir, 'pool.d', 'a.toml'), `${pool('alpha')}env = { DB = "\${DB_URL}" }\n`);
    const config = await parseConfig('include = ["pool.d/*.toml"]', main, undefined, { DB_URL: 'postgres://db' });
    expect(config.pools[0]!.env).toEqual({ DB: 'postgres://db' });
    expect(await problemsOf('include = ["pool.d/*.toml"]')).toEqual([
      expect.stringMatching(new RegExp(`^config: ${join(dir, 'pool.d', 'a.toml')}: pool "alpha": env.DB: \\$\\{DB_URL\\}: the environment variable DB_URL is not set`)),
    ]);
  });

  it('names the included file and key of each problem in it', async () => {
    const a = join(dir, 'pool.d', 'a.toml');
    await writeFile(a, `include = ["x"]\n[global]\nlog_level = "debug"\n${pool('alpha')}"pm.max_children" = 0\n`);
    expect(await problemsOf('include = ["pool.d/*.toml"]')).toEqual([
      `config: ${a}: "include" belongs in the main file (${main}), not in an included file; an included file holds [pools.NAME] tables only`,
      `config: ${a}: "global" belongs in the main file (${main}), not in an included file; an included file holds [pools.NAME] tables only`,
      `config: ${a}: pool "alpha": pm.max_children must be ≥ 1, got 0`,
    ]);
  });

  it('names the included file, line and column of a TOML error', async () => {
    const a = join(dir, 'pool.d', 'a.toml');
    await writeFile(a, `${pool('alpha')}listen.mode = "0660"\n`);
    await expect(parseConfig('include = ["pool.d/*.toml"]', main)).rejects.toMatchObject({
      code: ErrorCode.ERR_CONFIG_SYNTAX,
      file: a,
      message: expect.stringContaining(`config: ${a}:4:`) as unknown,
    });
  });

  it('refuses a pool defined twice, naming both files', async () => {
    const a = join(dir, 'pool.d', 'a.toml');
    await writeFile(a, pool('www'));
    expect(await problemsOf(`include = ["pool.d/*.toml"]\n${pool('www', 'www')}`)).toEqual([
      `config: ${a}: pool "www": the pool is already defined in ${main}; each [pools.NAME] must be unique across included files`,
    ]);
  });

  it('says when the globs matched no pool', async () => {
    expect(await problemsOf('include = ["pool.d/*.toml"]')).toEqual([
      `config: ${main}: no pool defined: add a [pools.NAME] table with listen and root`,
    ]);
    await writeFile(join(dir, 'pool.d', 'empty.toml'), '# nothing yet\n');
    expect(await problemsOf('include = ["pool.d/*.toml", "nowhere/*.toml"]')).toEqual([
      `config: ${main}: no pool defined (nor in the 1 included files): add a [pools.NAME] table with listen and root`,
    ]);
  });

  it('refuses an include that is not a list of globs', async () => {
    expect(await problemsOf(`include = 3\n${pool('main', 'www')}`)).toEqual([
      `config: ${main}: include must be an array of globs such as ["pool.d/*.toml"], got 3`,
    ]);
    expect(await problemsOf(`include = ["", 4]\n${pool('main', 'www')}`)).toEqual([
      `config: ${main}: include[0] must be a non-empty string (a glob), got ""`,
      `config: ${main}: include[1] must be a non-empty string (a glob), got 4`,
    ]);
  });

  it('fails with ERR_CONFIG_READ naming a literal included file that does not exist', async () => {
    const missing = join(dir, 'pool.d', 'missing.toml');
    await expect(parseConfig('include = ["pool.d/missing.toml"]', main)).rejects.toMatchObject({
      code: ErrorCode.ERR_CONFIG_READ,
      file: missing,
      message: `config: ${missing}: cannot read the config file: ENOENT (no such file or directory)`,
    });
  });
});
