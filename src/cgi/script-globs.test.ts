// This file implements the tests of script-globs.ts from the perspective of the python worker
// that receives the expressions: each JavaScript-only meaning rewritten. That python's `re`
// then gives picomatch's verdicts is tested by runtimes/python/route-units.test.ts.
import { describe, expect, it } from 'vitest';
import type { PoolConfig } from '../config/schema.ts';
import { workerPool } from '../worker/ipc.ts';
import { pythonRegexSource, scriptGlobs } from './script-globs.ts';

describe('scriptGlobs', () => {
  it('gives picomatch\'s expression per glob, basename for a glob without "/"', () => {
    expect(scriptGlobs(['*.py', 'sub/*.py'])).toStrictEqual([
      ['^(?:(?!\\.)(?=[^\\n\\r\\u2028\\u2029])[^/]*?\\.py\\/?)\\Z', true],
      ['^(?:sub\\/(?!\\.)(?=[^\\n\\r\\u2028\\u2029])[^/]*?\\.py)\\Z', false],
    ]);
    expect(scriptGlobs([])).toStrictEqual([]);
  });
});

describe('pythonRegexSource', () => {
  it.each([
    ['. and $ outside a class, kept inside', 'a.b$[.$]', 'a[^\\n\\r\\u2028\\u2029]b\\Z[.$]'],
    ['identity escapes become the character', '\\z\\q\\-\\.', 'zq\\-\\.'],
    ['\\x and \\u with and without their digits', '\\x41\\xg\\u00e9\\u12', '\\x41xg\\u00e9u12'],
    ['\\c with a letter is a control character, without it a backslash and c', '\\cJ\\c1', '\\x0a\\\\c1'],
    ['\\s and \\S are JavaScript\'s white space', '\\s\\S', '[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff][^\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]'],
    ['escapes python reads the same (re.ASCII)', '\\d\\w\\b\\t', '\\d\\w\\b\\t'],
    ['\\N: a backreference up to the group count, else octal, else the digit', '(a)\\1\\2\\101\\0\\8[\\1]', '(a)(?:\\1)\\x02\\x41\\x00' + '8[\\x01]'],
    ['[] matches nothing, [^] anything', 'a[]b[^]', 'a(?!)b[\\s\\S]'],
    ['[ inside a class is escaped, \\B in a class is B', '[[a\\B]', '[\\[aB]'],
    ['named groups take python\'s spelling', '(?<n>a)\\1', '(?P<n>a)(?:\\1)'],
    ['a trailing backslash', 'a\\', 'a\\\\'],
  ])('%s', (_name, source, python) => {
    expect(pythonRegexSource(source)).toBe(python);
  });
});

describe('a glob python cannot match as JavaScript does', () => {
  it('is refused, named (a lookbehind: python\'s must have a fixed width)', () => {
    expect(() => pythonRegexSource('(?<=a|bc)d')).toThrow(/lookbehind/);
    expect(() => scriptGlobs(['*.py', '(?<!x)y.py'])).toThrow('invalid glob "(?<!x)y.py": its expression holds a lookbehind');
  });
});

describe('workerPool', () => {
  const pool = (runtime: string): PoolConfig => ({ runtime, match: ['*.py'] }) as unknown as PoolConfig;
  it('adds scriptGlobs for pools of files, not for handler pools', () => {
    expect(workerPool(pool('python')).scriptGlobs).toStrictEqual(scriptGlobs(['*.py']));
    expect(workerPool(pool('exec')).scriptGlobs).toStrictEqual(scriptGlobs(['*.py']));
    const handler = pool('handler');
    expect(workerPool(handler)).toBe(handler);
  });
});
