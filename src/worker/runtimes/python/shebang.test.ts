import { describe, expect, it } from 'vitest';
import { isPythonName, parseShebang, resolveShebang, type SearchFs } from './shebang.ts';

describe('parseShebang', () => {
  it.each<[string, ReturnType<typeof parseShebang>]>([
    ['#!/usr/bin/python3\nprint(1)\n', { path: '/usr/bin/python3', arg: undefined }],
    ['#! /usr/bin/python3 \n', { path: '/usr/bin/python3', arg: undefined }],
    ['#!/usr/bin/env python3\n', { path: '/usr/bin/env', arg: 'python3' }],
    ['#!/opt/venv/bin/python -u\r\n', { path: '/opt/venv/bin/python', arg: '-u' }],
    // Linux passes the whole rest of the line as one argument.
    ['#!/usr/bin/python3 -u -O\n', { path: '/usr/bin/python3', arg: '-u -O' }],
    ['#!/usr/bin/env -S python3 -u\n', { path: '/usr/bin/env', arg: '-S python3 -u' }],
    ['#!\n', undefined],
    ['print("no shebang")\n', undefined],
    ['', undefined],
  ])('%j', (text, expected) => {
    expect(parseShebang(text)).toEqual(expected);
  });
});

describe('isPythonName', () => {
  it.each([
    ['python', true],
    ['/usr/bin/python3', true],
    ['python3.11', true],
    ['/opt/venv/bin/python', true],
    ['pypy3', true],
    ['python3-config', false],
    ['perl', false],
    ['/bin/sh', false],
  ])('%s: %s', (name, expected) => {
    expect(isPythonName(name)).toBe(expected);
  });
});

describe('resolveShebang', () => {
  const files = new Set(['/usr/bin/python3', '/usr/local/bin/python3', '/srv/cgi/bin/python3']);
  const fs: SearchFs = { isExecutableFile: (path) => files.has(path) };
  const resolve = (text: string, env: Record<string, string> = {}) =>
    resolveShebang(parseShebang(text), '/srv/cgi', env, fs);

  it('takes an absolute python interpreter as written, with its argument', () => {
    expect(resolve('#!/opt/venv/bin/python -u\n')).toEqual({
      kind: 'python',
      interpreter: { executable: '/opt/venv/bin/python', args: ['-u'] },
    });
  });

  it("searches env's program in the script's PATH, in order", () => {
    expect(resolve('#!/usr/bin/env python3\n', { PATH: '/usr/local/bin:/usr/bin' })).toEqual({
      kind: 'python',
      interpreter: { executable: '/usr/local/bin/python3', args: [] },
    });
  });

  it('searches /bin:/usr/bin when the script has no PATH (execvp)', () => {
    expect(resolve('#!/usr/bin/env python3\n')).toEqual({
      kind: 'python',
      interpreter: { executable: '/usr/bin/python3', args: [] },
    });
  });

  it('reads an empty PATH element as the working directory', () => {
    expect(resolve('#!/usr/bin/env python3\n', { PATH: ':/usr/bin' }).kind).toBe('python');
    expect(resolve('#!/usr/bin/env python3\n', { PATH: 'bin' })).toEqual({
      kind: 'python',
      interpreter: { executable: '/srv/cgi/bin/python3', args: [] },
    });
  });

  it('splits env -S arguments', () => {
    expect(resolve('#!/usr/bin/env -S python3 -u -B\n')).toEqual({
      kind: 'python',
      interpreter: { executable: '/usr/bin/python3', args: ['-u', '-B'] },
    });
  });

  it('names the program env cannot find, as under CGI (env takes "python3 -u" as one name)', () => {
    expect(resolve('#!/usr/bin/env python3 -u\n')).toEqual({
      kind: 'not found',
      program: 'python3 -u',
      searched: '/bin:/usr/bin',
    });
    expect(resolve('#!/usr/bin/env python9\n', { PATH: '/usr/bin' })).toEqual({
      kind: 'not found',
      program: 'python9',
      searched: '/usr/bin',
    });
  });

  it('leaves scripts without a python #! line to python.executable', () => {
    expect(resolve('print(1)\n')).toEqual({ kind: 'other' });
    expect(resolve('#!/bin/sh\n')).toEqual({ kind: 'other' });
    expect(resolve('#!/usr/bin/env perl\n')).toEqual({ kind: 'other' });
  });

  it('resolves a relative interpreter against the working directory', () => {
    expect(resolve('#!bin/python3\n')).toEqual({
      kind: 'python',
      interpreter: { executable: '/srv/cgi/bin/python3', args: [] },
    });
  });
});
