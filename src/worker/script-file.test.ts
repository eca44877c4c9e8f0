import { chmodSync, closeSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openScript, pathSwapSafe } from './script-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'script-file-'));
mkdirSync(join(dir, 'in'));
mkdirSync(join(dir, 'out'));
writeFileSync(join(dir, 'in', 'a.sh'), '#!/bin/sh\n', { mode: 0o755 });
writeFileSync(join(dir, 'out', 'a.sh'), '#!/bin/sh\n', { mode: 0o755 });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

describe('openScript', () => {
  it.each(['execute', 'read'] as const)('opens the real path it was given (%s) and hands back its fstat', (use) => {
    const opened = openScript(Buffer.from(join(dir, 'in', 'a.sh')), use);
    if (!('fd' in opened)) throw new Error(opened.reason);
    expect(opened.stats.isFile()).toBe(true);
    closeSync(opened.fd);
  });

  it('refuses a path whose directory was swapped for a symlink to elsewhere', () => {
    renameSync(join(dir, 'in'), join(dir, 'in.real'));
    symlinkSync(join(dir, 'out'), join(dir, 'in'));
    try {
      const opened = openScript(Buffer.from(join(dir, 'in', 'a.sh')), 'read');
      expect(opened).toEqual({ status: 403, reason: `changed since it was resolved: the path now leads to ${join(dir, 'out', 'a.sh')}` });
    } finally {
      rmSync(join(dir, 'in'));
      renameSync(join(dir, 'in.real'), join(dir, 'in'));
    }
  });

  it.each(['execute', 'read'] as const)('refuses a file swapped for a symlink (%s)', (use) => {
    symlinkSync(join(dir, 'out', 'a.sh'), join(dir, 'in', 'link.sh'));
    try {
      expect(openScript(Buffer.from(join(dir, 'in', 'link.sh')), use)).toMatchObject({ status: 403 });
    } finally {
      rmSync(join(dir, 'in', 'link.sh'));
    }
  });

  it('answers 404 for a file gone since it was resolved, 403 for a directory', () => {
    expect(openScript(Buffer.from(join(dir, 'in', 'gone.sh')), 'read')).toMatchObject({ status: 404 });
    expect(openScript(Buffer.from(join(dir, 'in')), 'execute')).toMatchObject({ status: 403 });
  });
});

describe('pathSwapSafe', () => {
  it('is true for root-owned directories writable by root only (/usr/bin/env)', () => {
    expect(pathSwapSafe(Buffer.from('/usr/bin/env'))).toBe(true);
  });

  it('follows the owner and mode of every directory on the path', () => {
    const path = Buffer.from(join(dir, 'in', 'a.sh'));
    // Under /tmp (root's, sticky) a root-run test's own directories are root's, mode 0700/0755.
    expect(pathSwapSafe(path)).toBe(process.getuid?.() === 0 && tmpdir() === '/tmp');
    chmodSync(join(dir, 'in'), 0o777);
    try {
      expect(pathSwapSafe(path)).toBe(false);
    } finally {
      chmodSync(join(dir, 'in'), 0o755);
    }
  });

  it('is false for a path that does not exist', () => {
    expect(pathSwapSafe(Buffer.from('/nonexistent/x'))).toBe(false);
  });
});
