import { chmodSync, link, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ScriptCache, syncCacheFs, type ScriptCacheFs } from './script-cache.ts';
import { syncScriptFs } from './script-fs.ts';
import type { ScriptRules } from './script.ts';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'cgi-fpm-script-cache-')));
afterAll(() => { rmSync(base, { recursive: true, force: true }); });

let n = 0;
/** A fresh root with an executable `hello.py`, and an `outside` directory next to it. */
function fixture(): { root: string; outside: string; rules: ScriptRules } {
  n += 1;
  const dir = join(base, `case-${n}`);
  const root = join(dir, 'root');
  const outside = join(dir, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'hello.py'), 'print("inside")\n', { mode: 0o755 });
  writeFileSync(join(root, 'sub', 'deep.py'), 'print("deep")\n', { mode: 0o755 });
  writeFileSync(join(outside, 'hello.py'), 'print("outside")\n', { mode: 0o755 });
  return { root, outside, rules: { root, match: ['**'], requireExecutable: true } };
}

/** A cache over the real file system that counts the calls of its hits. */
function counted(options: { now?: () => number } = {}): { cache: ScriptCache; calls: string[] } {
  const calls: string[] = [];
  const fs: ScriptCacheFs = {
    stat: (path) => { calls.push(`stat ${path.toString()}`); return syncCacheFs.stat(path); },
    realpath: (path) => { calls.push(`realpath ${path.toString()}`); return syncCacheFs.realpath(path); },
  };
  return { cache: new ScriptCache({ fs, ...options }), calls };
}

const b = (text: string): Buffer => Buffer.from(text);
const EMPTY: Buffer = Buffer.alloc(0);

describe('ScriptCache', () => {
  let root: string;
  let outside: string;
  let rules: ScriptRules;
  beforeEach(() => { ({ root, outside, rules } = fixture()); });

  /** Resolves in full through the cache (keeping a success), then returns the cache. */
  async function primed(path: string, pathInfo: Buffer = EMPTY, cache = new ScriptCache()): Promise<ScriptCache> {
    const full = await cache.resolve(rules, b(path), pathInfo, syncScriptFs);
    expect(full.ok).toBe(true);
    return cache;
  }

  it('a script resolved before is found again with one stat of the path as sent', async () => {
    const { cache, calls } = counted();
    await primed(`${root}/hello.py`, EMPTY, cache);
    calls.length = 0;
    const hit = cache.lookup(rules, b(`${root}/hello.py`), EMPTY);
    expect(hit).toEqual({ ok: true, scriptFilename: b(`${root}/hello.py`), pathInfo: EMPTY });
    expect(calls).toEqual([`stat ${root}/hello.py`]);
  });

  it('a script never resolved, another pool\'s rules, another path-info: not found', async () => {
    const cache = await primed(`${root}/hello.py`, b('/a'));
    expect(cache.lookup(rules, b(`${root}/sub/deep.py`), EMPTY)).toBeUndefined();
    expect(cache.lookup({ ...rules }, b(`${root}/hello.py`), b('/a'))).toBeUndefined();
    expect(cache.lookup(rules, b(`${root}/hello.py`), b('/b'))).toBeUndefined();
    expect(cache.lookup(rules, b(`${root}/hello.py`), b('/a'))?.ok).toBe(true);
  });

  it('a NUL in the values never finds the entry of other values (bad bytes stay refused)', async () => {
    const cache = await primed(`${root}/hello.py`, b('/a'));
    expect(cache.lookup(rules, b(`${root}/hello.py\0/a`), EMPTY)).toBeUndefined();
    const full = await cache.resolve(rules, b(`${root}/hello.py\0/a`), EMPTY, syncScriptFs);
    expect(full).toMatchObject({ ok: false, status: 403 });
  });

  it('the file edited: resolved in full again', async () => {
    const cache = await primed(`${root}/hello.py`);
    writeFileSync(join(root, 'hello.py'), 'print("edited, longer")\n');
    expect(cache.lookup(rules, b(`${root}/hello.py`), EMPTY)).toBeUndefined();
  });

  it('the file removed: resolved in full again, and answered 404', async () => {
    const cache = await primed(`${root}/hello.py`);
    unlinkSync(join(root, 'hello.py'));
    expect(cache.lookup(rules, b(`${root}/hello.py`), EMPTY)).toBeUndefined();
    expect(await cache.resolve(rules, b(`${root}/hello.py`), EMPTY, syncScriptFs)).toMatchObject({ ok: false, status: 404 });
  });

  it('the file replaced by a symlink to outside the root: resolved in full again, and refused', async () => {
    const cache = await primed(`${root}/hello.py`);
    symlinkSync(join(outside, 'hello.py'), join(root, 'swap'));
    renameSync(join(root, 'swap'), join(root, 'hello.py'));
    expect(cache.lookup(rules, b(`${root}/hello.py`), EMPTY)).toBeUndefined();
    const full = await cache.resolve(rules, b(`${root}/hello.py`), EMPTY, syncScriptFs);
    expect(full).toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/^outside root/) as unknown });
  });

  it('the executable bit removed: resolved in full again, and refused 403', async () => {
    const cache = await primed(`${root}/hello.py`);
    chmodSync(join(root, 'hello.py'), 0o644);
    expect(cache.lookup(rules, b(`${root}/hello.py`), EMPTY)).toBeUndefined();
    const full = await cache.resolve(rules, b(`${root}/hello.py`), EMPTY, syncScriptFs);
    expect(full).toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/^not executable/) as unknown });
  });

  it('a directory on the path swapped for another one: resolved in full again', async () => {
    const cache = await primed(`${root}/sub/deep.py`);
    mkdirSync(join(root, 'sub2'));
    writeFileSync(join(root, 'sub2', 'deep.py'), 'print("deep")\n', { mode: 0o755 });
    renameSync(join(root, 'sub'), join(root, 'old'));
    renameSync(join(root, 'sub2'), join(root, 'sub'));
    expect(cache.lookup(rules, b(`${root}/sub/deep.py`), EMPTY)).toBeUndefined();
  });

  it('a deploy switch `current -> release-N` (symlink renamed over) is seen, hard-linked files too', async () => {
    for (const release of ['release-1', 'release-2']) mkdirSync(join(root, release));
    writeFileSync(join(root, 'release-1', 'app.py'), 'print("1")\n', { mode: 0o755 });
    // The worst case for a stat: release-2 holds the same inode (rsync --link-dest, cp -al).
    await promisify(link)(join(root, 'release-1', 'app.py'), join(root, 'release-2', 'app.py'));
    symlinkSync('release-1', join(root, 'current'));
    const { cache, calls } = counted();
    const first = await cache.resolve(rules, b(`${root}/current/app.py`), EMPTY, syncScriptFs);
    expect(first).toMatchObject({ ok: true, scriptFilename: b(`${root}/release-1/app.py`) });
    calls.length = 0;
    expect(cache.lookup(rules, b(`${root}/current/app.py`), EMPTY)).toMatchObject({ ok: true });
    // A path through a symlink costs one realpath more on a hit.
    expect(calls).toEqual([`stat ${root}/current/app.py`, `realpath ${root}/current/app.py`]);
    symlinkSync('release-2', join(root, 'next'));
    renameSync(join(root, 'next'), join(root, 'current'));
    expect(statSync(join(root, 'current', 'app.py')).ino).toBe(statSync(join(root, 'release-1', 'app.py')).ino);
    expect(cache.lookup(rules, b(`${root}/current/app.py`), EMPTY)).toBeUndefined();
    const again = await cache.resolve(rules, b(`${root}/current/app.py`), EMPTY, syncScriptFs);
    expect(again).toMatchObject({ ok: true, scriptFilename: b(`${root}/release-2/app.py`) });
    expect(cache.lookup(rules, b(`${root}/current/app.py`), EMPTY)).toMatchObject({ scriptFilename: b(`${root}/release-2/app.py`) });
  });

  it('a symlinked directory pointed outside the root: resolved in full again, and refused', async () => {
    mkdirSync(join(root, 'release-1'));
    writeFileSync(join(root, 'release-1', 'hello.py'), 'print("1")\n', { mode: 0o755 });
    symlinkSync('release-1', join(root, 'current'));
    const cache = await primed(`${root}/current/hello.py`);
    symlinkSync(outside, join(root, 'next'));
    renameSync(join(root, 'next'), join(root, 'current'));
    expect(cache.lookup(rules, b(`${root}/current/hello.py`), EMPTY)).toBeUndefined();
    expect(await cache.resolve(rules, b(`${root}/current/hello.py`), EMPTY, syncScriptFs)).toMatchObject({ ok: false, status: 403 });
  });

  it('an entry older than maxAgeMs is resolved in full again, however its stat looks', async () => {
    let now = 1000;
    const cache = await primed(`${root}/hello.py`, EMPTY, new ScriptCache({ now: () => now, maxAgeMs: 1000 }));
    now = 2000;
    expect(cache.lookup(rules, b(`${root}/hello.py`), EMPTY)?.ok).toBe(true);
    now = 2001;
    expect(cache.lookup(rules, b(`${root}/hello.py`), EMPTY)).toBeUndefined();
  });

  it('keeps a refusal of a path that exists until that path changes', async () => {
    symlinkSync(join(outside, 'hello.py'), join(root, 'link.py'));
    const cache = new ScriptCache();
    const refusal = await cache.resolve(rules, b(`${root}/link.py`), EMPTY, syncScriptFs);
    expect(refusal).toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/^outside root/) as unknown });
    expect(cache.lookup(rules, b(`${root}/link.py`), EMPTY)).toBe(refusal);
    // The symlink pointed inside, at a file of the same size, mode and owner: seen by realpath.
    writeFileSync(join(root, 'twin.py'), 'print("outside")\n', { mode: 0o755 });
    symlinkSync(join(root, 'twin.py'), join(root, 'next'));
    renameSync(join(root, 'next'), join(root, 'link.py'));
    expect(cache.lookup(rules, b(`${root}/link.py`), EMPTY)).toBeUndefined();
    expect(await cache.resolve(rules, b(`${root}/link.py`), EMPTY, syncScriptFs)).toMatchObject({ ok: true });
    // Not executable: kept, and seen again once chmod'ed.
    chmodSync(join(root, 'twin.py'), 0o644);
    expect(await cache.resolve(rules, b(`${root}/twin.py`), EMPTY, syncScriptFs)).toMatchObject({ status: 403 });
    chmodSync(join(root, 'twin.py'), 0o755);
    expect(cache.lookup(rules, b(`${root}/twin.py`), EMPTY)).toBeUndefined();
  });

  it('keeps neither a missing path (404) nor path-info split off by walking up the path', async () => {
    const cache = new ScriptCache();
    expect((await cache.resolve(rules, b(`${root}/missing.py`), EMPTY, syncScriptFs)).ok).toBe(false);
    writeFileSync(join(root, 'missing.py'), 'x\n', { mode: 0o755 });
    expect(cache.lookup(rules, b(`${root}/missing.py`), EMPTY)).toBeUndefined();
    const walked = await cache.resolve(rules, b(`${root}/hello.py/extra`), EMPTY, syncScriptFs);
    expect(walked).toMatchObject({ ok: true, pathInfo: b('/extra') });
    expect(cache.lookup(rules, b(`${root}/hello.py/extra`), EMPTY)).toBeUndefined();
  });

  it('keeps nothing for values longer than 4096 bytes, and no slice of the values sent', async () => {
    const cache = new ScriptCache();
    const longInfo = b(`/${'x'.repeat(5000)}`);
    expect((await cache.resolve(rules, b(`${root}/hello.py`), longInfo, syncScriptFs)).ok).toBe(true);
    expect(cache.lookup(rules, b(`${root}/hello.py`), longInfo)).toBeUndefined();
    const params = b(`${root}/hello.py/info`);
    const sentName = params.subarray(0, params.length - 5);
    const sentInfo = params.subarray(params.length - 5);
    await cache.resolve(rules, sentName, sentInfo, syncScriptFs);
    params.fill(0); // the request's buffer reused
    const kept = cache.lookup(rules, b(`${root}/hello.py`), b('/info'));
    expect(kept).toMatchObject({ ok: true, pathInfo: b('/info') });
  });

  it('drops the oldest entry past maxEntries', async () => {
    const cache = new ScriptCache({ maxEntries: 1 });
    await primed(`${root}/hello.py`, EMPTY, cache);
    await primed(`${root}/sub/deep.py`, EMPTY, cache);
    expect(cache.lookup(rules, b(`${root}/hello.py`), EMPTY)).toBeUndefined();
    expect(cache.lookup(rules, b(`${root}/sub/deep.py`), EMPTY)?.ok).toBe(true);
  });
});
