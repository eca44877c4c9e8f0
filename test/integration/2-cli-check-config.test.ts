// This file implements issue 2's config check from the perspective of an operator running
// `cgi-fpm check -c FILE`: a valid file prints the effective config (exit 0); a misspelled key,
// a bad value or a missing root is named with the file, the key and the value (exit 78).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { writeConfigFile } from './helpers/config-file.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';

let tmp: TempDir | undefined;
const dir = (): string => {
  if (tmp === undefined) throw new Error('temp dir not created');
  return tmp.path;
};

beforeAll(async () => {
  tmp = await createTempDir();
  await mkdir(join(tmp.path, 'cgi-bin'));
});
afterAll(async () => {
  await tmp?.remove();
});

/** A valid pool with a relative root, `pm.max_children` spelled with a dotted key. */
function poolToml(extra: string): string {
  return `[global]
log_level = "info"

[pools.blog]
listen = "${join(dir(), 'blog.sock')}"
"listen.mode" = "0666"
root = "cgi-bin"
match = ["*.py", "*.cgi"]
runtime = "exec"
pm.max_children = 2
request_terminate_timeout = "3s"
"queue.max" = 100
"queue.timeout" = "30s"
env = { GREETING = "hi" }
clear_env = true
${extra}`;
}

async function check(
  name: string,
  toml: string,
): Promise<{ code: number | null; stdout: string; stderr: string; file: string }> {
  const file = join(dir(), name);
  await writeConfigFile(file, toml);
  return { ...(await runCli(['check', '-c', file], dir())), file };
}

describe('cgi-fpm check', () => {
  it('accepts a valid config: exit 0 and the effective config on stdout', async () => {
    const r = await check('valid.toml', poolToml(''));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('blog');
    // Relative root resolved against the config file's directory.
    expect(r.stdout).toContain(join(dir(), 'cgi-bin'));
  });

  it('names a misspelled pool key (pm.max_childern): exit 78, file and key in the message', async () => {
    const r = await check('typo-pm.toml', poolToml('pm.max_childern = 4\n'));
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('max_childern');
    expect(r.stderr).toContain(r.file);
  });

  it('names a misspelled top-level pool key (request_terminate_timout): exit 78', async () => {
    const r = await check('typo-timeout.toml', poolToml('request_terminate_timout = "5s"\n'));
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('request_terminate_timout');
    expect(r.stderr).toContain(r.file);
  });

  it('names a bad value (pm.max_children = 0) with the key and the value: exit 78', async () => {
    const toml = poolToml('').replace('pm.max_children = 2', 'pm.max_children = 0');
    const r = await check('zero.toml', toml);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('max_children');
    expect(r.stderr).toMatch(/\b0\b/);
    expect(r.stderr).toContain('blog');
  });

  it('names a root that does not exist: exit 78', async () => {
    const toml = poolToml('').replace('root = "cgi-bin"', 'root = "no-such-dir"');
    const r = await check('noroot.toml', toml);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('root');
    expect(r.stderr).toContain('no-such-dir');
  });

  it('reports a TOML syntax error with the file: exit 78', async () => {
    const r = await check('syntax.toml', '[pools.blog\nroot = \n');
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(r.file);
  });
});
