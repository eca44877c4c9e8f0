// This file implements the tests of environment.ts from the perspective of a request whose
// params are bytes (the worker's path): values stay the bytes sent, 0x80-0xFF included, names
// that are not ASCII are dropped, SCRIPT_NAME is trimmed on bytes, and the text view decodes.
import { describe, expect, it } from 'vitest';
import { NameValueDecoder, encodeNameValuePairs } from '../fastcgi/name-value.ts';
import { buildEnvironment, buildTextEnvironment, splitScriptName, textEnvironment, type EnvironmentOptions } from './environment.ts';

/** A pool with `clear_env` and no `env`: only what the request and the gateway give. */
const base: EnvironmentOptions = { env: {}, clearEnv: true, inherited: {}, serverSoftware: 'cgi-fpm/0.1.0', scriptFilename: '/srv/cgi/hello.py' };

describe('buildEnvironment on params as bytes (the request path)', () => {
  const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
  const pairsOf = (list: [string, string | Buffer][]) => {
    const decoder = new NameValueDecoder();
    decoder.push(encodeNameValuePairs(list));
    return decoder.finish();
  };

  it('keeps every value as the bytes sent, 0x80-0xFF included, and the gateway values as text', () => {
    const query = latin1('q=\x80\xff\xe9');
    const env = buildEnvironment(pairsOf([
      ['QUERY_STRING', query],
      ['HTTP_X_RAW', latin1('\xc3\x28 \xa0')],
      ['SCRIPT_NAME', latin1('/caf\xe9.sh')],
      ['CONTENT_LENGTH', ''],
    ]), { ...base, scriptFilename: latin1('/srv/cgi/caf\xe9.sh'), pathInfo: Buffer.alloc(0) });
    expect(env.QUERY_STRING).toStrictEqual(query);
    expect(env.HTTP_X_RAW).toStrictEqual(latin1('\xc3\x28 \xa0'));
    expect(env.SCRIPT_FILENAME).toStrictEqual(latin1('/srv/cgi/caf\xe9.sh'));
    expect(env.GATEWAY_INTERFACE).toBe('CGI/1.1');
    expect('CONTENT_LENGTH' in env).toBe(false);
    expect(textEnvironment(env).QUERY_STRING).toBe('q=\ufffd\ufffd\ufffd');
  });

  it('drops params whose name is not ASCII or whose value holds NUL, and lets a later duplicate win', () => {
    const env = buildEnvironment(pairsOf([
      ['X_\u00e9', 'a'], ['HTTP_A', latin1('1\x002')], ['HTTP_B', 'one'], ['HTTP_B', 'two'],
    ]), base);
    expect(Object.keys(env).sort()).toStrictEqual(['GATEWAY_INTERFACE', 'HTTP_B', 'SCRIPT_FILENAME', 'SERVER_SOFTWARE']);
    expect(env.HTTP_B).toStrictEqual(Buffer.from('two'));
  });

  it('builds the text environment in one step exactly as buildEnvironment then textEnvironment', () => {
    const params = pairsOf([
      ['QUERY_STRING', latin1('q=\x80\xff\xe9')], ['HTTP_B', 'one'], ['HTTP_B', 'two'], ['PATH', '/request/bin'],
      ['HTTP_PROXY', 'evil'], ['SCRIPT_NAME', '/cgi/a.js/x'], ['CONTENT_TYPE', ''], ['__proto__', 'plain'], ['HTTP_A', latin1('1\x002')],
    ]);
    for (const options of [
      base,
      { ...base, clearEnv: false, inherited: { HOME: '/root', PATH: '/daemon/bin', HTTP_B: 'daemon' }, env: { PATH: '/pool/bin', LANG: 'C' } },
      { ...base, scriptFilename: latin1('/srv/cgi/caf\xe9.js'), pathInfo: Buffer.from('/x') },
      { ...base, pathInfo: Buffer.alloc(0) },
    ]) {
      const text = buildTextEnvironment(params, options);
      expect(Object.getPrototypeOf(text)).toBeNull();
      expect(Object.entries(text)).toStrictEqual(Object.entries(textEnvironment(buildEnvironment(params, options))));
    }
  });

  it('trims SCRIPT_NAME on bytes', () => {
    expect(splitScriptName(latin1('/cgi/\xe9.sh/x\xff'), Buffer.alloc(0), latin1('/x\xff'))).toStrictEqual(latin1('/cgi/\xe9.sh'));
    expect(splitScriptName(latin1('/x\xff'), Buffer.alloc(0), latin1('/x\xff'))).toBeUndefined();
    expect(splitScriptName('/cgi/a.py/x', '', latin1('/x'))).toStrictEqual(Buffer.from('/cgi/a.py'));
  });
});
