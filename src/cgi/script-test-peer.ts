// This file implements the script resolution test tree from the perspective of the tests of
// script.ts: a temporary root with scripts, symlinks in and out, and the expected answers.
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveVirtualScript as resolveVirtualBytes, resolveScript as resolveScriptBytes, type ScriptFs, type ScriptResolution as BytesResolution, type ScriptRules } from './script.ts';
import { beforeAll, afterAll } from 'vitest';
/** A resolution with its paths as text: the tables below are written with text paths. */
export type ScriptResolution =
  | { ok: true; scriptFilename: string; pathInfo: string }
  | Extract<BytesResolution, { ok: false }>;
export const asText = (result: BytesResolution): ScriptResolution =>
  result.ok ? { ok: true, scriptFilename: result.scriptFilename.toString(), pathInfo: result.pathInfo.toString() } : result;
/** resolveScript on the UTF-8 bytes of text paths, its paths given back as text. */
export const resolveScript = async (path: string, pathInfo: string, r: ScriptRules, fs: ScriptFs): Promise<ScriptResolution> =>
  asText(await resolveScriptBytes(Buffer.from(path), Buffer.from(pathInfo), r, fs));
export const resolveVirtualScript = (path: string, pathInfo: string, r: ScriptRules): ScriptResolution =>
  asText(resolveVirtualBytes(Buffer.from(path), Buffer.from(pathInfo), r));

// `node:fs/promises` must fit the injected interface as is.
export const realFs: ScriptFs = fsp;

export let tmp = '';
export let root = '';
export const rules = (over: Partial<ScriptRules> = {}): ScriptRules => ({
  root,
  match: ['**'],
  requireExecutable: true,
  ...over,
});

beforeAll(async () => {
  tmp = await fsp.realpath(await fsp.mkdtemp(join(tmpdir(), 'cgi-fpm-script-')));
  root = join(tmp, 'cgi');
  await fsp.mkdir(join(root, 'sub'), { recursive: true });
  await fsp.mkdir(join(root, 'dir'));
  await fsp.mkdir(join(tmp, 'cgi2'));
  const files: [string, number][] = [
    ['cgi/hello.py', 0o755],
    ['cgi/readme.txt', 0o644],
    ['cgi/noexec.py', 0o644],
    ['cgi/sub/deep.py', 0o755],
    ['cgi/.hidden.py', 0o755],
    ['outside.py', 0o755],
    ['cgi2/evil.py', 0o755],
  ];
  for (const [name, mode] of files) await fsp.writeFile(join(tmp, name), '#!/bin/sh\n', { mode });
  await fsp.symlink('../outside.py', join(root, 'link-out'));
  await fsp.symlink('hello.py', join(root, 'link-in'));
  await fsp.symlink('loop', join(root, 'loop'));
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

export const ok = (file: string, pathInfo = ''): ScriptResolution => ({
  ok: true,
  scriptFilename: join(root, file),
  pathInfo,
});
export const refused = (reason: string): ScriptResolution => ({
  ok: false,
  status: 403,
  event: 'script refused',
  reason,
});
export const notFound = (reason: string): ScriptResolution => ({
  ok: false,
  status: 404,
  event: 'script not found',
  reason,
});
