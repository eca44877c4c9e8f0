// This file implements the tests of problems.ts and issues.ts from the perspective of an
// operator reading config error messages.

import { describe, expect, it } from 'vitest';
import { ConfigError, ErrorCode } from '../errors.ts';
import { formatKeyPath } from './issues.ts';
import {
  ConfigErrorList,
  configProblem,
  configProblems,
  describeSystemError,
  formatValue,
  throwProblems,
} from './problems.ts';

const FILE = '/etc/x.toml';

describe('configProblem', () => {
  it('names the file and the pool, and carries the context', () => {
    const error = configProblem(FILE, 'pm.max_children must be ≥ 1, got 0', {
      pool: 'blog',
      key: 'pm.max_children',
    });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('config: /etc/x.toml: pool "blog": pm.max_children must be ≥ 1, got 0');
    expect(error).toMatchObject({
      code: ErrorCode.ERR_CONFIG_INVALID,
      file: FILE,
      pool: 'blog',
      key: 'pm.max_children',
    });
  });

  it('leaves the pool out when there is none', () => {
    expect(configProblem(FILE, 'x').message).toBe('config: /etc/x.toml: x');
  });
});

describe('ConfigErrorList and throwProblems', () => {
  const a = configProblem(FILE, 'a');
  const b = configProblem(FILE, 'b');

  it('throws nothing for no problems', () => {
    expect(() => {
      throwProblems(FILE, []);
    }).not.toThrow();
  });

  it('throws a single problem as itself', () => {
    expect(() => {
      throwProblems(FILE, [a]);
    }).toThrow(a);
  });

  it('throws several as one ConfigError listing each, one per line', () => {
    let thrown: unknown;
    try {
      throwProblems(FILE, [a, b]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigErrorList);
    expect(thrown).toBeInstanceOf(ConfigError);
    const list = thrown as ConfigErrorList;
    expect(list.errors).toEqual([a, b]);
    expect(Object.isFrozen(list.errors)).toBe(true);
    expect(list.message).toBe('config: /etc/x.toml: a\nconfig: /etc/x.toml: b');
    expect(list.code).toBe(ErrorCode.ERR_CONFIG_INVALID);
    expect(list.file).toBe(FILE);
    expect(configProblems(list)).toEqual([a, b]);
    expect(configProblems(a)).toEqual([a]);
  });

  it('keeps a code all problems share', () => {
    const read = configProblem(FILE, 'r', {}, ErrorCode.ERR_CONFIG_READ);
    expect(new ConfigErrorList(FILE, [read, read]).code).toBe(ErrorCode.ERR_CONFIG_READ);
    expect(new ConfigErrorList(FILE, [read, a]).code).toBe(ErrorCode.ERR_CONFIG_INVALID);
  });
});

describe('formatValue', () => {
  it.each([
    ['x', '"x"'],
    [0, '0'],
    [true, 'true'],
    [['a', 1], '["a", 1]'],
    [{ a: 1 }, 'a table'],
    [new Date('1979-05-27T00:00:00Z'), '1979-05-27T00:00:00.000Z'],
    [undefined, 'undefined'],
  ])('renders %j as %s', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });
});

describe('describeSystemError', () => {
  it('keeps the code and the reason, not the path', () => {
    const error = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), {
      code: 'ENOENT',
    });
    expect(describeSystemError(error)).toBe('ENOENT (no such file or directory)');
  });

  it('falls back to the code, then the message', () => {
    expect(describeSystemError(Object.assign(new Error('odd'), { code: 'EIO' }))).toBe('EIO');
    expect(describeSystemError(new Error('plain'))).toBe('plain');
    expect(describeSystemError('text')).toBe('text');
    expect(describeSystemError(null)).toBe('null');
  });
});

describe('formatKeyPath', () => {
  it.each([
    [['pm.max_children'], 'pm.max_children'],
    [['match', 0], 'match[0]'],
    [['env', 'PATH'], 'env.PATH'],
    [['env', 'A=B'], 'env."A=B"'],
    [['env', 'a.b'], 'env."a.b"'],
    [[], ''],
  ])('writes %j as %s', (path, text) => {
    expect(formatKeyPath(path)).toBe(text);
  });
});
