// This file implements the tests of script.ts from the perspective of pools whose scripts are not
// files: the proxy prefix stripped from SCRIPT_FILENAME, and handler pools' virtual paths.
import { stripProxyPrefix } from './script.ts';
import { describe, expect, it } from 'vitest';
import { resolveVirtualScript } from './script-test-peer.ts';

describe('stripProxyPrefix', () => {
  it.each([
    ['proxy:fcgi://localhost/srv/cgi/a.py', '/srv/cgi/a.py'],
    ['proxy:fcgi://127.0.0.1:9000/srv/cgi/a.py', '/srv/cgi/a.py'],
    ['PROXY:FCGI://localhost/srv/cgi/a.py', '/srv/cgi/a.py'],
    ['proxy:balancer://cgi-pool/srv/cgi/a.py', '/srv/cgi/a.py'],
    ['proxy:fcgi://localhost/srv/cgi/a.py?x=1', '/srv/cgi/a.py'],
    ['proxy:fcgi://localhost', ''],
    ['/srv/cgi/a.py', '/srv/cgi/a.py'],
    ['/srv/cgi/a.py?x=1', '/srv/cgi/a.py?x=1'],
    ['proxy:http://localhost/srv/cgi/a.py', 'proxy:http://localhost/srv/cgi/a.py'],
  ])('%s -> %s', (input, expected) => {
    expect(stripProxyPrefix(input)).toBe(expected);
  });
});

describe('resolveVirtualScript (handler pools: paths, not files)', () => {
  const rules = { root: '/srv/app', match: ['**'], requireExecutable: false };
  it.each([
    ['/srv/app/users/42', '/srv/app/users/42'],
    ['/srv/app', '/srv/app'],
    ['/srv/app/a/../b', '/srv/app/b'],
    ['proxy:fcgi://localhost/srv/app/x', '/srv/app/x'],
  ])('accepts %s as %s', (input, expected) => {
    expect(resolveVirtualScript(input, '', rules)).toEqual({ ok: true, scriptFilename: expected, pathInfo: '' });
  });
  it.each([
    ['/srv/app/../etc/passwd', /outside root \/srv\/app: \/srv\/etc\/passwd/],
    ['/srv/application/x', /outside root/],
    ['relative/x', /path not absolute/],
    ['/srv/app/a\0b', /bad bytes in path/],
  ])('refuses %s', (input, reason) => {
    const result = resolveVirtualScript(input, '', rules);
    expect(result).toMatchObject({ ok: false, status: 403, event: 'script refused' });
    expect(!result.ok && result.reason).toMatch(reason);
  });
  it('refuses CR/LF in PATH_INFO, a path outside match, and an empty SCRIPT_FILENAME', () => {
    expect(resolveVirtualScript('/srv/app/x', '/a\nb', rules)).toMatchObject({ ok: false, status: 403 });
    expect(resolveVirtualScript('/srv/app/x.txt', '', { ...rules, match: ['api/**'] })).toMatchObject({
      ok: false, reason: expect.stringMatching(/not matched/) as unknown,
    });
    expect(resolveVirtualScript('', '', rules)).toMatchObject({ ok: false, status: 404 });
  });
  it('gives the same answer for a path asked again: after more paths than are kept, and for a path too long to keep', () => {
    const api = { ...rules, match: ['api/**', '*.json'] };
    const verdict = (path: string): boolean => resolveVirtualScript(path, '', api).ok;
    const paths = ['/srv/app/api/x', '/srv/app/web/x', '/srv/app/web/a.json', `/srv/app/api/${'y'.repeat(2000)}`, `/srv/app/web/${'y'.repeat(2000)}`];
    const first = paths.map(verdict);
    expect(first).toStrictEqual([true, false, true, true, false]);
    for (let i = 0; i < 1500; i++) verdict(`/srv/app/${i % 2 === 0 ? 'api' : 'web'}/${i}`);
    expect(paths.map(verdict)).toStrictEqual(first);
    expect(verdict('/srv/app/web/1001')).toBe(false);
    expect(verdict('/srv/app/api/1000')).toBe(true);
  });
});
