// This file implements the tests of output.ts from the perspective of logrotate: lines are
// appended to the file, and after a rename, reopen() sends later lines to a new file at the path.
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { openLogOutput } from './output.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-log-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openLogOutput', () => {
  it('appends to the file (directory created, mode 0640) and reopens it by path', async () => {
    const file = join(dir, 'logs', 'cgi-fpm.log');
    const output = openLogOutput(file);
    await writeFile(file, 'kept\n', { flag: 'a' });
    const log = createLogger({ output, level: 'info' });
    log.info({ n: 1 }, 'before');
    await rename(file, `${file}.1`);
    log.info({ n: 2 }, 'still old');
    output.reopen();
    log.info({ n: 3 }, 'after');
    const old = (await readFile(`${file}.1`, 'utf8')).split('\n').filter((l) => l !== '');
    const fresh = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
    expect(old[0]).toBe('kept');
    expect(old.slice(1).map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['before', 'still old']);
    expect(fresh.map((l) => (JSON.parse(l) as { msg: string; pid: number }).msg)).toEqual(['after']);
    expect((await stat(file)).mode & 0o777).toBe(0o640);
  });

  it('throws with the errno code when the file cannot be opened', async () => {
    await writeFile(join(dir, 'plain'), '');
    expect(() => openLogOutput(join(dir, 'plain', 'x.log'))).toThrow(/ENOTDIR|EEXIST/);
  });

  it('writes to standard output without a file, and reopen does nothing', () => {
    const output = openLogOutput(undefined);
    expect(output.file).toBeUndefined();
    expect(() => { output.reopen(); }).not.toThrow();
  });
});
