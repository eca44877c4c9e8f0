import { describe, expect, it } from 'vitest';
import { NameValueDecoder, encodeNameValuePairs } from '../fastcgi/name-value.ts';
import { buildEnvironment, type EnvironmentOptions, type ParamSource } from './environment.ts';
import { requestVariables } from './request-variables.ts';

const base: EnvironmentOptions = { env: {}, clearEnv: true, inherited: {}, serverSoftware: 'cgi-fpm/0.1.0', scriptFilename: '/srv/cgi/app' };

function pairsOf(list: [string, string | Buffer][]): ParamSource {
  const decoder = new NameValueDecoder();
  decoder.push(encodeNameValuePairs(list));
  return decoder.finish();
}

function collect(source: ParamSource): Record<string, unknown> {
  const seen: Record<string, unknown> = {};
  source.forEach((value, name) => {
    expect(seen).not.toHaveProperty(name);
    seen[name] = value;
  });
  return seen;
}

/** nginx's fastcgi_params with the edge cases the environment drops or rewrites. */
const params: [string, string | Buffer][] = [
  ['QUERY_STRING', 'a=1'],
  ['REQUEST_METHOD', 'GET'],
  ['CONTENT_TYPE', ''],
  ['CONTENT_LENGTH', ''],
  ['SCRIPT_NAME', '/app/x/y'],
  ['REQUEST_URI', '/app/x/y?a=1'],
  ['HTTP_HOST', 'example.test'],
  ['HTTP_PROXY', 'http://evil/'],
  ['HTTP_X_RAW', Buffer.from([0xc3, 0x28])],
  ['HTTP_X_NUL', 'a\0b'],
  ['HTTP_ACCEPT', 'text/plain'],
  ['HTTP_ACCEPT', 'text/html'],
  ['GATEWAY_INTERFACE', 'CGI/9'],
  ['HTTPS', 'on'],
];

describe('requestVariables', () => {
  it.each([
    ['no path-info', base],
    ['path-info split off by the gateway', { ...base, pathInfo: '/x/y' }],
    ['path-info resolved empty', { ...base, pathInfo: '' }],
    ['a pool env (built environment read)', { ...base, env: { HTTPS: 'off', EXTRA: '1' } }],
    ['inherited variables', { ...base, clearEnv: false, inherited: { PATH: '/bin', HTTP_X_INHERITED: 'i' } }],
  ])('gives the names and values of buildEnvironment: %s', (_name, options: EnvironmentOptions) => {
    const source = pairsOf(params);
    const env = { ...buildEnvironment(source, options) };
    const variables = requestVariables(source, options);
    expect(collect(variables)).toStrictEqual(env);
    for (const name of [...Object.keys(env), 'HTTP_PROXY', 'HTTP_X_NUL', 'CONTENT_TYPE', 'MISSING']) {
      expect(variables.get(name)).toStrictEqual(env[name]);
    }
  });

  it.each([
    ['no path-info', base],
    ['path-info split off by the gateway', { ...base, pathInfo: '/x/y' }],
  ])('visits one family of names (forEachNamed) as forEach does, in order: %s', (_name, options: EnvironmentOptions) => {
    const source = pairsOf(params);
    const variables = requestVariables(source, options);
    for (const prefix of ['HTTP_', 'SCRIPT_', 'GATEWAY_', 'PATH_', 'NONE_']) {
      const named: [string, unknown][] = [];
      expect(typeof variables.forEachNamed).toBe('function');
      variables.forEachNamed?.(prefix, (value, name) => named.push([name, value]));
      const all: [string, unknown][] = [];
      variables.forEach((value, name) => { if (name.startsWith(prefix)) all.push([name, value]); });
      expect(named).toStrictEqual(all);
    }
    // The duplicate HTTP_ACCEPT once, where it first came, with its last value; HTTP_PROXY never.
    const http: [string, unknown][] = [];
    variables.forEachNamed?.('HTTP_', (value, name) => http.push([name, value]));
    expect(http.map(([name]) => name)).toStrictEqual(['HTTP_HOST', 'HTTP_X_RAW', 'HTTP_ACCEPT']);
    expect(http[2]?.[1]).toStrictEqual(Buffer.from('text/html'));
  });
});

describe('NameValuePairs.forEachNamed', () => {
  it('visits the pairs whose name begins with the prefix, duplicates and order kept, names shorter than it skipped', () => {
    const source = pairsOf([['HTTP', 'short'], ['HTTP_A', '1'], ['X_HTTP_B', '2'], ['HTTP_A', '3'], ['HTTP_', 'empty name'], ['http_c', 'lower']]);
    const seen: [string, string][] = [];
    source.forEachNamed?.('HTTP_', (value, name) => seen.push([name, value.toString()]));
    expect(seen).toStrictEqual([['HTTP_A', '1'], ['HTTP_A', '3'], ['HTTP_', 'empty name']]);
  });
});
