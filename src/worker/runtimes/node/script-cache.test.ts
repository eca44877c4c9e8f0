// This file implements the script cache's tests from the perspective of the node runtime
// loading scripts per request: compiled once, compiled again when the file changes, syntax
// errors kept as a throwing body, unreadable files refused with ERR_CGI_SPAWN.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgiError, ErrorCode } from '../../../errors.ts';
import { ScriptCache, type CompiledScript } from './script-cache.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-script-cache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Calls a compiled script body the way the runtime does and returns its module.exports. */
function evaluate(script: CompiledScript): unknown {
  const module = { exports: {} as unknown };
  script.fn.call(
    module.exports,
    module.exports,
    createRequire(script.filename),
    module,
    script.filename,
    script.dirname,
  );
  return module.exports;
}

describe('ScriptCache', () => {
  it('compiles a script once and reuses it while the file is unchanged', async () => {
    const file = join(dir, 'once.js');
    await writeFile(file, '#!/usr/bin/env node\nmodule.exports = [__filename, __dirname, typeof require];\n');
    const compiled: string[] = [];
    const cache = new ScriptCache({ onCompile: (f) => compiled.push(f) });
    const first = cache.load(file);
    expect(cache.load(file)).toBe(first);
    expect(compiled).toEqual([file]);
    expect(evaluate(first)).toEqual([file, dir, 'function']);
  });

  it('compiles again when the file changes (mtime, size or a replaced inode)', async () => {
    const file = join(dir, 'edited.js');
    await writeFile(file, 'module.exports = 1;');
    const cache = new ScriptCache();
    expect(evaluate(cache.load(file))).toBe(1);
    await writeFile(file, 'module.exports = 2;');
    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    expect(evaluate(cache.load(file))).toBe(2);
    // Same size, same mtime: only the inode (and ctime) tell the replaced file apart.
    await writeFile(`${file}.new`, 'module.exports = 3;');
    await utimes(`${file}.new`, later, later);
    await rename(`${file}.new`, file);
    expect(evaluate(cache.load(file))).toBe(3);
  });

  it("takes the version from the worker's check of the descriptor when given (no fstat of its own)", async () => {
    const file = join(dir, 'checked.js');
    await writeFile(file, 'module.exports = 1;');
    const cache = new ScriptCache();
    const fd = openSync(file, 'r');
    try {
      const checked = fstatSync(fd);
      const first = cache.load(file, fd, checked);
      expect(evaluate(first)).toBe(1);
      expect(cache.load(file, fd, checked)).toBe(first);
      // Edited in place: the worker's check (script-descriptors.ts) reopens and hands over the
      // new version, which is compiled from the descriptor.
      await writeFile(file, 'module.exports = 22;');
      const later = new Date(Date.now() + 5000);
      await utimes(file, later, later);
      expect(evaluate(cache.load(file, fd, fstatSync(fd)))).toBe(22);
    } finally {
      closeSync(fd);
    }
  });

  it('drops a UTF-8 byte order mark', async () => {
    const file = join(dir, 'bom.js');
    await writeFile(file, '\ufeffmodule.exports = "no bom";');
    expect(evaluate(new ScriptCache().load(file))).toBe('no bom');
  });

  it('keeps a script that does not compile as a body throwing its SyntaxError, with file and line', async () => {
    const file = join(dir, 'broken.js');
    await writeFile(file, 'const ok = 1;\nlet x = ;\n');
    const script = new ScriptCache().load(file);
    expect(() => evaluate(script)).toThrow(SyntaxError);
    try {
      evaluate(script);
    } catch (err) {
      expect((err as Error).stack).toContain(`${file}:2`);
    }
  });

  it('refuses a missing file with CgiError ERR_CGI_SPAWN and forgets it', async () => {
    const file = join(dir, 'gone.js');
    await writeFile(file, 'module.exports = 1;');
    const cache = new ScriptCache();
    cache.load(file);
    await rm(file);
    let error: unknown;
    try {
      cache.load(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CgiError);
    expect(error).toMatchObject({ code: ErrorCode.ERR_CGI_SPAWN, scriptFilename: file });
    expect((error as Error).message).toMatch(/^cgi: node: cannot load script: ENOENT/);
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxScripts compiled scripts, dropping the oldest', async () => {
    const cache = new ScriptCache({ maxScripts: 2 });
    for (const name of ['a.js', 'b.js', 'c.js']) {
      await writeFile(join(dir, name), `module.exports = '${name}';`);
      cache.load(join(dir, name));
    }
    expect(cache.size).toBe(2);
  });

  it('reads a kept descriptor from its start, wherever its offset is (the worker reuses it)', async () => {
    const file = join(dir, 'kept.js');
    await writeFile(file, "module.exports = 'kept';");
    const fd = openSync(file, 'r');
    try {
      readFileSync(fd); // the offset is now at the end, as after an earlier load
      expect(evaluate(new ScriptCache().load(file, fd))).toBe('kept');
    } finally {
      closeSync(fd);
    }
  });
});
