import { describe, expect, it } from 'vitest';
import { buildEnvironment, GATEWAY_INTERFACE, splitScriptName, type EnvironmentOptions } from './environment.ts';

const base: EnvironmentOptions = {
  env: {},
  clearEnv: true,
  inherited: {},
  serverSoftware: 'cgi-fpm/0.1.0',
  scriptFilename: '/srv/cgi/hello.py',
};

/** nginx 1.24 `include fastcgi_params;` + `fastcgi_param SCRIPT_FILENAME ...;`, a GET. */
const nginxParams: [string, string][] = [
  ['QUERY_STRING', 'a=1&b=2'],
  ['REQUEST_METHOD', 'GET'],
  ['CONTENT_TYPE', ''],
  ['CONTENT_LENGTH', ''],
  ['SCRIPT_NAME', '/cgi/hello.py'],
  ['REQUEST_URI', '/cgi/hello.py?a=1&b=2'],
  ['DOCUMENT_URI', '/cgi/hello.py'],
  ['DOCUMENT_ROOT', '/srv'],
  ['SERVER_PROTOCOL', 'HTTP/1.1'],
  ['REQUEST_SCHEME', 'http'],
  ['GATEWAY_INTERFACE', 'CGI/1.1'],
  ['SERVER_SOFTWARE', 'nginx/1.24.0'],
  ['REMOTE_ADDR', '127.0.0.1'],
  ['REMOTE_PORT', '51234'],
  ['SERVER_ADDR', '127.0.0.1'],
  ['SERVER_PORT', '80'],
  ['SERVER_NAME', 'localhost'],
  ['REDIRECT_STATUS', '200'],
  ['SCRIPT_FILENAME', '/srv/cgi/hello.py'],
  ['HTTP_HOST', 'localhost'],
  ['HTTP_USER_AGENT', 'curl/8.5.0'],
  ['HTTP_ACCEPT', '*/*'],
  ['HTTP_PROXY', 'http://attacker.example:8080'],
];

/** Apache 2.4 mod_proxy_fcgi, `ProxyPassMatch "^/cgi/(.*)$" "fcgi://localhost/srv/cgi/$1"`, a POST. */
const apacheParams: [string, string][] = [
  ['HTTP_HOST', 'localhost:8080'],
  ['HTTP_USER_AGENT', 'curl/8.5.0'],
  ['HTTP_ACCEPT', '*/*'],
  ['CONTENT_TYPE', 'application/x-www-form-urlencoded'],
  ['CONTENT_LENGTH', '7'],
  ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  ['SERVER_SIGNATURE', '<address>Apache/2.4.58 (Ubuntu) Server at localhost Port 8080</address>\n'],
  ['SERVER_SOFTWARE', 'Apache/2.4.58 (Ubuntu)'],
  ['SERVER_NAME', 'localhost'],
  ['SERVER_ADDR', '127.0.0.1'],
  ['SERVER_PORT', '8080'],
  ['REMOTE_ADDR', '127.0.0.1'],
  ['DOCUMENT_ROOT', '/var/www/html'],
  ['REQUEST_SCHEME', 'http'],
  ['CONTEXT_PREFIX', ''],
  ['CONTEXT_DOCUMENT_ROOT', '/var/www/html'],
  ['SERVER_ADMIN', 'webmaster@localhost'],
  ['SCRIPT_FILENAME', 'proxy:fcgi://localhost/srv/cgi/hello.py/extra/path'],
  ['REMOTE_PORT', '40000'],
  ['GATEWAY_INTERFACE', 'CGI/1.1'],
  ['SERVER_PROTOCOL', 'HTTP/1.1'],
  ['REQUEST_METHOD', 'POST'],
  ['QUERY_STRING', ''],
  ['REQUEST_URI', '/cgi/hello.py/extra/path'],
  ['SCRIPT_NAME', '/cgi/hello.py/extra/path'],
];

const rows: {
  server: string;
  params: [string, string][];
  options: EnvironmentOptions;
  expected: Record<string, string>;
}[] = [
  {
    server: 'nginx fastcgi_params',
    params: nginxParams,
    options: { ...base, pathInfo: '' },
    expected: {
      QUERY_STRING: 'a=1&b=2',
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '/cgi/hello.py',
      REQUEST_URI: '/cgi/hello.py?a=1&b=2',
      DOCUMENT_URI: '/cgi/hello.py',
      DOCUMENT_ROOT: '/srv',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_SCHEME: 'http',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_SOFTWARE: 'cgi-fpm/0.1.0',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_PORT: '51234',
      SERVER_ADDR: '127.0.0.1',
      SERVER_PORT: '80',
      SERVER_NAME: 'localhost',
      REDIRECT_STATUS: '200',
      SCRIPT_FILENAME: '/srv/cgi/hello.py',
      HTTP_HOST: 'localhost',
      HTTP_USER_AGENT: 'curl/8.5.0',
      HTTP_ACCEPT: '*/*',
    },
  },
  {
    server: 'Apache mod_proxy_fcgi',
    params: apacheParams,
    options: { ...base, env: { PATH: '/opt/cgi/bin:/usr/bin:/bin' }, pathInfo: '/extra/path' },
    expected: {
      HTTP_HOST: 'localhost:8080',
      HTTP_USER_AGENT: 'curl/8.5.0',
      HTTP_ACCEPT: '*/*',
      CONTENT_TYPE: 'application/x-www-form-urlencoded',
      CONTENT_LENGTH: '7',
      PATH: '/opt/cgi/bin:/usr/bin:/bin',
      SERVER_SIGNATURE: '<address>Apache/2.4.58 (Ubuntu) Server at localhost Port 8080</address>\n',
      SERVER_SOFTWARE: 'cgi-fpm/0.1.0',
      SERVER_NAME: 'localhost',
      SERVER_ADDR: '127.0.0.1',
      SERVER_PORT: '8080',
      REMOTE_ADDR: '127.0.0.1',
      DOCUMENT_ROOT: '/var/www/html',
      REQUEST_SCHEME: 'http',
      CONTEXT_PREFIX: '',
      CONTEXT_DOCUMENT_ROOT: '/var/www/html',
      SERVER_ADMIN: 'webmaster@localhost',
      SCRIPT_FILENAME: '/srv/cgi/hello.py',
      REMOTE_PORT: '40000',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_METHOD: 'POST',
      QUERY_STRING: '',
      REQUEST_URI: '/cgi/hello.py/extra/path',
      SCRIPT_NAME: '/cgi/hello.py',
      PATH_INFO: '/extra/path',
    },
  },
];

describe('buildEnvironment', () => {
  it.each(rows)('maps what $server sends', ({ params, options, expected }) => {
    expect({ ...buildEnvironment(new Map(params), options) }).toStrictEqual(expected);
  });

  it('sets GATEWAY_INTERFACE even when the web server did not', () => {
    const env = buildEnvironment(new Map(), base);
    expect({ ...env }).toStrictEqual({
      GATEWAY_INTERFACE: GATEWAY_INTERFACE,
      SERVER_SOFTWARE: 'cgi-fpm/0.1.0',
      SCRIPT_FILENAME: '/srv/cgi/hello.py',
    });
  });

  it('inherits the daemon environment only when clearEnv is false', () => {
    const inherited = { PATH: '/usr/bin', HOME: '/root', UNSET: undefined, HTTP_PROXY: 'http://corp:3128' };
    const cleared = buildEnvironment(new Map(), { ...base, inherited });
    expect(cleared.PATH).toBeUndefined();
    const kept = buildEnvironment(new Map(), { ...base, clearEnv: false, inherited });
    expect(kept.PATH).toBe('/usr/bin');
    expect(kept.HOME).toBe('/root');
    expect('UNSET' in kept).toBe(false);
    expect('HTTP_PROXY' in kept).toBe(false);
  });

  it('lets pool env override inherited and non-meta params, but not the request meta-variables', () => {
    const params = new Map([
      ['REQUEST_METHOD', 'POST'],
      ['HTTP_X_TENANT', 'from-request'],
      ['APP_MODE', 'from-web-server'],
    ]);
    const env = buildEnvironment(params, {
      ...base,
      clearEnv: false,
      inherited: { HOME: '/root', APP_MODE: 'inherited' },
      env: { HOME: '/var/lib/cgi', REQUEST_METHOD: 'GET', HTTP_X_TENANT: 'from-pool', APP_MODE: 'from-pool' },
    });
    expect(env.HOME).toBe('/var/lib/cgi');
    expect(env.APP_MODE).toBe('from-pool');
    expect(env.REQUEST_METHOD).toBe('POST');
    expect(env.HTTP_X_TENANT).toBe('from-request');
  });

  it('never exports HTTP_PROXY, from any source', () => {
    const env = buildEnvironment(new Map([['HTTP_PROXY', 'http://attacker']]), {
      ...base,
      clearEnv: false,
      inherited: { HTTP_PROXY: 'http://a' },
      env: { HTTP_PROXY: 'http://b', http_proxy: 'http://corp:3128' },
    });
    expect('HTTP_PROXY' in env).toBe(false);
    expect(env.http_proxy).toBe('http://corp:3128');
  });

  it('unsets an empty CONTENT_LENGTH/CONTENT_TYPE but keeps other empty values', () => {
    const params = new Map([
      ['CONTENT_LENGTH', ''],
      ['CONTENT_TYPE', ''],
      ['QUERY_STRING', ''],
    ]);
    const env = buildEnvironment(params, { ...base, clearEnv: false, inherited: { CONTENT_LENGTH: '5' } });
    expect('CONTENT_LENGTH' in env).toBe(false);
    expect('CONTENT_TYPE' in env).toBe(false);
    expect(env.QUERY_STRING).toBe('');
  });

  it('drops names and values an environment cannot carry', () => {
    const params = new Map([
      ['', 'x'],
      ['A=B', 'x'],
      ['NUL\0NAME', 'x'],
      ['HTTP_X', 'a\0b'],
      ['OK', 'y'],
    ]);
    const env = buildEnvironment(params, base);
    expect(Object.keys(env).sort()).toStrictEqual([
      'GATEWAY_INTERFACE',
      'OK',
      'SCRIPT_FILENAME',
      'SERVER_SOFTWARE',
    ]);
  });

  it('keeps a param named __proto__ as a plain variable', () => {
    const env = buildEnvironment(new Map([['__proto__', 'x']]), base);
    expect(Object.getPrototypeOf(env)).toBeNull();
    expect(Object.keys(env)).toContain('__proto__');
  });

  it('handles PATH_INFO: kept when not resolved, unset when resolved empty, replaced otherwise', () => {
    const params = new Map([
      ['PATH_INFO', '/sent'],
      ['SCRIPT_NAME', '/cgi/a.py/sent'],
    ]);
    expect(buildEnvironment(params, base).PATH_INFO).toBe('/sent');
    expect('PATH_INFO' in buildEnvironment(params, { ...base, pathInfo: '' })).toBe(false);
    const replaced = buildEnvironment(params, { ...base, pathInfo: '/sent' });
    expect(replaced.PATH_INFO).toBe('/sent');
    // The web server sent PATH_INFO itself: its SCRIPT_NAME is left alone.
    expect(replaced.SCRIPT_NAME).toBe('/cgi/a.py/sent');
  });

  it('trims SCRIPT_NAME only when it ends with the split-off path-info', () => {
    const split = (scriptName: string): unknown =>
      buildEnvironment(new Map([['SCRIPT_NAME', scriptName]]), { ...base, pathInfo: '/x' }).SCRIPT_NAME;
    expect(split('/cgi/a.py/x')).toBe('/cgi/a.py');
    expect(split('/cgi/a.py')).toBe('/cgi/a.py');
    expect(split('/x')).toBe('/x');
    expect(buildEnvironment(new Map(), { ...base, pathInfo: '/x' }).SCRIPT_NAME).toBeUndefined();
  });
});

describe('splitScriptName (the supervisor trims SCRIPT_NAME for the worker)', () => {
  it.each([
    ['/cgi-bin/a.py/x/y', '', '/x/y', '/cgi-bin/a.py'],
    ['/cgi-bin/a.py/x/y', '/x/y', '/x/y', undefined],
    ['/cgi-bin/a.py', '', '', undefined],
    ['/cgi-bin/a.py', '', '/x', undefined],
    ['/x', '', '/x', undefined],
    [undefined, '', '/x', undefined],
  ])('SCRIPT_NAME %j, sent PATH_INFO %j, resolved %j -> %j', (scriptName, sent, pathInfo, expected) => {
    expect(splitScriptName(scriptName, sent, pathInfo)).toBe(expected);
  });
});
