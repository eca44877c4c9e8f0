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
});
