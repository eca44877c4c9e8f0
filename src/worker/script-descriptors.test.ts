import { fstatSync, mkdirSync, mkdtempSync, readSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScriptDescriptors } from './script-descriptors.ts';

const dir = mkdtempSync(join(tmpdir(), 'script-descriptors-'));
mkdirSync(join(dir, 'in'));
mkdirSync(join(dir, 'out'));
writeFileSync(join(dir, 'in', 'a.sh'), '#!/bin/sh\necho in\n', { mode: 0o755 });
writeFileSync(join(dir, 'out', 'a.sh'), '#!/bin/sh\necho out\n', { mode: 0o755 });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const path = Buffer.from(join(dir, 'in', 'a.sh'));

function fdOf(opened: ReturnType<ScriptDescriptors['open']>): number {
  if (!('fd' in opened)) throw new Error(opened.reason);
  expect(opened.kept).toBe(true);
  return opened.fd;
}

function contents(fd: number): string {
  const buffer = Buffer.alloc(256);
  return buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
}

describe('ScriptDescriptors', () => {
  it('hands out the same checked descriptor while the path leads to the same version', () => {
    const scripts = new ScriptDescriptors();
    const first = fdOf(scripts.open(path, 'read'));
    expect(fdOf(scripts.open(path, 'read'))).toBe(first);
    expect(scripts.size).toBe(1);
    scripts.close();
    expect(() => fstatSync(first)).toThrow();
  });

  it('opens and checks again once the file was edited (the old descriptor closed)', () => {
    const scripts = new ScriptDescriptors();
    const first = fdOf(scripts.open(path, 'read'));
    const before = fstatSync(first);
    writeFileSync(join(dir, 'in', 'a.sh'), '#!/bin/sh\necho edited in\n');
    const second = fdOf(scripts.open(path, 'read'));
    expect(contents(second)).toBe('#!/bin/sh\necho edited in\n');
    expect(fstatSync(second).ctimeMs).not.toBe(before.ctimeMs);
    expect(scripts.size).toBe(1);
    scripts.close();
  });

  it('refuses a path whose directory was swapped for a symlink to elsewhere after it was kept', () => {
    const scripts = new ScriptDescriptors();
    fdOf(scripts.open(path, 'read'));
    renameSync(join(dir, 'in'), join(dir, 'in.real'));
    symlinkSync(join(dir, 'out'), join(dir, 'in'));
    try {
      expect(scripts.open(path, 'read')).toEqual({
        status: 403, reason: `changed since it was resolved: the path now leads to ${join(dir, 'out', 'a.sh')}`,
      });
      expect(scripts.size).toBe(0);
    } finally {
      rmSync(join(dir, 'in'));
      renameSync(join(dir, 'in.real'), join(dir, 'in'));
    }
    scripts.close();
  });

  it('refuses the file swapped for a symlink (the same inode renamed away counts as changed)', () => {
    const scripts = new ScriptDescriptors();
    fdOf(scripts.open(path, 'execute'));
    renameSync(join(dir, 'in', 'a.sh'), join(dir, 'in', 'a.sh.real'));
    symlinkSync(join(dir, 'in', 'a.sh.real'), join(dir, 'in', 'a.sh'));
    try {
      expect(scripts.open(path, 'execute')).toMatchObject({ status: 403 });
    } finally {
      rmSync(join(dir, 'in', 'a.sh'));
      renameSync(join(dir, 'in', 'a.sh.real'), join(dir, 'in', 'a.sh'));
    }
    scripts.close();
  });

  it('answers 404 once the file is gone', () => {
    const scripts = new ScriptDescriptors();
    writeFileSync(join(dir, 'in', 'b.sh'), '#!/bin/sh\n');
    fdOf(scripts.open(Buffer.from(join(dir, 'in', 'b.sh')), 'read'));
    rmSync(join(dir, 'in', 'b.sh'));
    expect(scripts.open(Buffer.from(join(dir, 'in', 'b.sh')), 'read')).toMatchObject({ status: 404 });
    expect(scripts.size).toBe(0);
  });

  it('keeps at most its limit open, closing the least recently used', () => {
    const scripts = new ScriptDescriptors(2);
    const names = ['c1', 'c2', 'c3'].map((n) => {
      writeFileSync(join(dir, 'in', n), 'x');
      return Buffer.from(join(dir, 'in', n));
    });
    const [c1, c2, c3] = names as [Buffer, Buffer, Buffer];
    const fd1 = fdOf(scripts.open(c1, 'read'));
    fdOf(scripts.open(c2, 'read'));
    expect(fdOf(scripts.open(c1, 'read'))).toBe(fd1); // c1 is now the most recent
    fdOf(scripts.open(c3, 'read')); // evicts c2
    expect(scripts.size).toBe(2);
    expect(fdOf(scripts.open(c1, 'read'))).toBe(fd1);
    scripts.close();
  });
});
