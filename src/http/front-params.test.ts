import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PoolConfig } from '../config/schema.ts';
import { frontParams, locateScript, parseHostPort } from './front-params.ts';

describe('parseHostPort', () => {
  test.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['localhost:1', { host: 'localhost', port: 1 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
  ])('%s', (text, expected) => {
    expect(parseHostPort(text)).toEqual(expected);
  });
  test.each(['8080', '127.0.0.1', '127.0.0.1:99999', ':80', '[::1]'])('refuses %s', (text) => {
    expect(() => parseHostPort(text)).toThrow(/--http must be HOST:PORT/);
  });
});

describe('locateScript', () => {
  let root: string;
  let pool: PoolConfig;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'front-'));
    await mkdir(join(root, 'sub'));
    await writeFile(join(root, 'hello.py'), '');
    await writeFile(join(root, 'sub', 'app.cgi'), '');
    pool = { name: 'p', root } as unknown as PoolConfig;
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('splits PATH_INFO after the first file, as fastcgi_split_path_info does', async () => {
    await expect(locateScript('/sub/app.cgi/a/b?x=1', [pool])).resolves.toMatchObject({
      scriptName: '/sub/app.cgi', pathInfo: '/a/b', queryString: 'x=1',
    });
  });
  test('a plain script has no PATH_INFO', async () => {
    await expect(locateScript('/hello.py', [pool])).resolves.toMatchObject({ scriptName: '/hello.py', pathInfo: '' });
  });
  test('percent-decodes the path like $fastcgi_script_name', async () => {
    await expect(locateScript('/hell%6F.py', [pool])).resolves.toMatchObject({ scriptName: '/hello.py' });
  });
  test('an unknown path goes to the first pool whole (the daemon answers 404)', async () => {
    await expect(locateScript('/missing.py/x', [pool])).resolves.toMatchObject({ scriptName: '/missing.py/x', pathInfo: '' });
  });
  test('malformed percent-encoding throws', async () => {
    await expect(locateScript('/%E0%A4%A', [pool])).rejects.toThrow(URIError);
  });

  test('frontParams gives nginx-style params with HTTP_* headers and no Proxy header', () => {
    const req = {
      method: 'POST', url: '/hello.py?a=b', httpVersion: '1.1',
      headers: { 'content-type': 'text/plain', 'content-length': '3', host: 'example.org:8080' },
      rawHeaders: ['Content-Type', 'text/plain', 'Content-Length', '3', 'Host', 'example.org:8080', 'Proxy', 'evil', 'X-Thing', 'v'],
      socket: { remoteAddress: '127.0.0.1', remotePort: 5000, localAddress: '127.0.0.1', localPort: 8080 },
    } as unknown as IncomingMessage;
    const params = new Map(frontParams(req, { pool, scriptName: '/hello.py', pathInfo: '', queryString: 'a=b' }));
    expect(params.get('SCRIPT_FILENAME')).toBe(join(root, 'hello.py'));
    expect(params.get('REQUEST_METHOD')).toBe('POST');
    expect(params.get('CONTENT_LENGTH')).toBe('3');
    expect(params.get('SERVER_NAME')).toBe('example.org');
    expect(params.get('HTTP_X_THING')).toBe('v');
    expect(params.has('HTTP_PROXY')).toBe(false);
    expect(params.has('HTTP_CONTENT_TYPE')).toBe(false);
  });
});
