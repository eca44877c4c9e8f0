// This file implements the tests of script.ts from the perspective of a file name that is not
// UTF-8: the path stays bytes from SCRIPT_FILENAME to realpath, stat and access, on a real
// directory named in latin1, with both file-system adapters.
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveScript as resolveScriptBytes, resolveVirtualScript as resolveVirtualBytes, stripProxyPrefix, type ScriptFs, type ScriptRules } from './script.ts';
import { syncScriptFs } from './script-fs.ts';

let tmp = '';
beforeAll(async () => {
  tmp = await fsp.realpath(await fsp.mkdtemp(join(tmpdir(), 'cgi-fpm-script-bytes-')));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('resolveScript on file names that are not UTF-8 (bytes all the way)', () => {
  const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
  let dir = Buffer.alloc(0);
  beforeAll(async () => {
    dir = Buffer.concat([Buffer.from(await fsp.mkdtemp(join(tmp, 'bytes-'))), latin1('/d\xe9j\xe0')]);
    await fsp.mkdir(dir);
    await fsp.writeFile(Buffer.concat([dir, latin1('/caf\xe9.sh')]), '#!/bin/sh\n', { mode: 0o755 });
    await fsp.writeFile(Buffer.concat([dir, latin1('/\xff.py')]), '#!/bin/sh\n', { mode: 0o644 });
  });
  const rulesIn = (over: Partial<ScriptRules> = {}): ScriptRules => ({
    root: join(tmp), match: ['**'], requireExecutable: true, ...over,
  });

  it.each([['the promise API', fsp as ScriptFs], ['syncScriptFs', syncScriptFs]])('routes latin1 names exactly (%s)', async (_name, fs) => {
    const script = Buffer.concat([dir, latin1('/caf\xe9.sh')]);
    expect(await resolveScriptBytes(script, Buffer.alloc(0), rulesIn({ match: ['*.sh'] }), fs)).toStrictEqual({
      ok: true, scriptFilename: script, pathInfo: Buffer.alloc(0),
    });
    const split = await resolveScriptBytes(Buffer.concat([script, latin1('/x\xff')]), Buffer.alloc(0), rulesIn(), fs);
    expect(split).toStrictEqual({ ok: true, scriptFilename: script, pathInfo: latin1('/x\xff') });
  });

  it('names a refused latin1 file in the reason (bytes that are not UTF-8 read U+FFFD)', async () => {
    const script = Buffer.concat([dir, latin1('/\xff.py')]);
    const result = await resolveScriptBytes(script, Buffer.alloc(0), rulesIn(), syncScriptFs);
    expect(result).toMatchObject({ ok: false, status: 403, reason: `not executable: ${script.toString()}` });
    expect(!result.ok && result.reason).toContain('\ufffd.py');
  });

  it('strips a proxy prefix from bytes and normalizes virtual paths on bytes', () => {
    expect(stripProxyPrefix(latin1('proxy:fcgi://h/srv/\xe9?q=1'))).toStrictEqual(latin1('/srv/\xe9'));
    const plain = latin1('/srv/\xe9');
    expect(stripProxyPrefix(plain)).toBe(plain);
    expect(resolveVirtualBytes(latin1('/srv/app/a/./../\xe9//b/'), Buffer.alloc(0), { root: '/srv/app', match: ['**'], requireExecutable: false }))
      .toStrictEqual({ ok: true, scriptFilename: latin1('/srv/app/\xe9/b/'), pathInfo: Buffer.alloc(0) });
  });
});
