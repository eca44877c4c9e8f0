// This file implements the tests of the node runtime's shebang check from the perspective of a
// pool admin whose scripts name their interpreter: the worker's own node (by any path or link, or
// found by `env` on the request's PATH) runs them; another node binary, node with options, an
// interpreter `env` cannot find, or another language is refused with a reason naming it.
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterpreterCheck, parseShebang } from './interpreter.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-shebang-'));
  await symlink(process.execPath, join(dir, 'node-link'));
  // Another file called node: another install, as far as the worker can tell.
  await writeFile(join(dir, 'node'), '#!/bin/sh\nexec node "$@"\n', { mode: 0o755 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseShebang', () => {
  it.each([
    ['#!/usr/bin/node\nx', { command: '/usr/bin/node', args: [], line: '/usr/bin/node' }],
    ['#!/usr/bin/env node\r\nx', { command: '/usr/bin/env', args: ['node'], line: '/usr/bin/env node' }],
    ['\ufeff#! /usr/bin/env -S node --no-warnings', { command: '/usr/bin/env', args: ['-S', 'node', '--no-warnings'] }],
  ])('reads %j', (source, expected) => {
    expect(parseShebang(source)).toMatchObject(expected);
  });

  it('finds none in a script without one', () => {
    expect(parseShebang("console.log('#!/usr/bin/node')")).toBeUndefined();
    expect(parseShebang('#!\n')).toBeUndefined();
  });
});

describe('InterpreterCheck', () => {
  const check = new InterpreterCheck(process.execPath, '/nonexistent');
  const refusal = (source: string, path?: string): string | undefined => check.refusal(parseShebang(source), path);

  it("runs scripts without a shebang, and those naming the worker's node by path, link or env lookup", () => {
    expect(refusal('console.log(1)')).toBeUndefined();
    expect(refusal(`#!${process.execPath}`)).toBeUndefined();
    expect(refusal(`#!${join(dir, 'node-link')}`)).toBeUndefined();
    expect(refusal('#!/usr/bin/env node', `/nonexistent:${dirname(process.execPath)}`)).toBeUndefined();
    expect(refusal(`#!/usr/bin/env ${process.execPath}`)).toBeUndefined();
  });

  it('refuses another node binary, naming it and the worker\'s', () => {
    expect(refusal(`#!${join(dir, 'node')}`)).toBe(`interpreter ${join(dir, 'node')} is not this worker's node (${process.execPath})`);
    // env finds the other one first on the request's PATH.
    expect(refusal('#!/usr/bin/env node', `${dir}:${dirname(process.execPath)}`)).toContain(`interpreter ${join(dir, 'node')} `);
  });

  it('refuses node with options, an interpreter env cannot find, and another language', () => {
    expect(refusal(`#!${process.execPath} --max-old-space-size=64`)).toBe(
      'node options "--max-old-space-size=64" cannot be applied in a running worker',
    );
    expect(refusal('#!/usr/bin/env -S node --no-warnings', dirname(process.execPath))).toContain('"--no-warnings"');
    expect(refusal('#!/usr/bin/env node', '/nonexistent')).toBe('interpreter "node" not found on PATH /nonexistent');
    expect(refusal('#!/bin/sh')).toBe(`interpreter /bin/sh is not this worker's node (${process.execPath})`);
  });

  it('searches the worker\'s own PATH when the request has none', () => {
    const lenient = new InterpreterCheck(process.execPath, dirname(process.execPath));
    expect(lenient.refusal(parseShebang('#!/usr/bin/env node'), undefined)).toBeUndefined();
  });
});
