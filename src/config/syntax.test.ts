// This file implements the tests of syntax.ts from the perspective of an operator whose file
// is not valid TOML, often because of a bare PHP-FPM dotted key.

import { describe, expect, it } from 'vitest';
import { ConfigError, ErrorCode } from '../errors.ts';
import { dottedKeyHint, parseToml } from './syntax.ts';

const FILE = '/etc/cgi-fpm/cgi-fpm.toml';

function syntaxError(text: string): ConfigError {
  try {
    parseToml(text, FILE);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a syntax error');
}

describe('parseToml', () => {
  it('parses valid TOML', () => {
    expect(parseToml('[pools.a]\nlisten = "/x"\n', FILE)).toEqual({ pools: { a: { listen: '/x' } } });
  });

  it('names the file, line and column', () => {
    const error = syntaxError('[global]\nlog_level = \n');
    expect(error.code).toBe(ErrorCode.ERR_CONFIG_SYNTAX);
    expect(error.file).toBe(FILE);
    expect(error.message).toMatch(/^config: \/etc\/cgi-fpm\/cgi-fpm\.toml:2:\d+: invalid TOML: /);
    expect(error.message).not.toContain('\n');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('hints to quote a bare dotted key after a plain key', () => {
    const error = syntaxError('[pools.blog]\nlisten = "/a"\nlisten.mode = "0660"\n');
    expect(error.message).toContain(`${FILE}:3:1: invalid TOML: trying to redefine`);
    expect(error.message).toContain('quote the dotted key: "listen.mode" = "0660"');
  });

  it('hints to quote a bare dotted key before a plain key', () => {
    const error = syntaxError('[pools.blog]\npm.max_children = 4\nroot = "/srv"\npm = "static"\n');
    expect(error.message).toContain(':4:1:');
    expect(error.message).toContain('quote the dotted key: "pm.max_children" = 4');
  });

  it('gives no hint for a key simply defined twice', () => {
    const error = syntaxError('[pools.blog]\nlisten = "/a"\nlisten = "/b"\n');
    expect(error.message).toContain('redefine');
    expect(error.message).not.toContain('quote');
  });
});

describe('dottedKeyHint', () => {
  it('reads keys with spaces around the dots', () => {
    expect(dottedKeyHint('listen = "/a"\nlisten . mode = "0660"', 2)).toBe(
      'quote the dotted key: "listen.mode" = "0660" (bare, TOML reads it as a table)',
    );
  });

  it('is undefined for a line that is not a key/value line', () => {
    expect(dottedKeyHint('[pools.a]\n[pools.a]\n', 2)).toBeUndefined();
    expect(dottedKeyHint('x = 1\n', 5)).toBeUndefined();
  });
});
