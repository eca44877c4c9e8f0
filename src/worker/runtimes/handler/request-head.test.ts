// This file implements the tests of request-head.ts from the perspective of the handler runtime
// rebuilding HTTP requests from what nginx and Apache mod_proxy_fcgi send.
import { describe, expect, it } from 'vitest';
import { requestHead, requestUrl } from './request-head.ts';
import { nginxEnv } from './runtime-test-peer.ts';

describe('requestHead', () => {
  it('rebuilds an nginx request: method, target, Host, fields, length, addresses', () => {
    const head = requestHead(
      nginxEnv('POST', '/a/b?x=1', {
        CONTENT_TYPE: 'application/json',
        CONTENT_LENGTH: '12',
        HTTP_ACCEPT_LANGUAGE: 'fr',
        HTTP_COOKIE: 'a=1; b=2',
      }),
    );
    const { remoteAddress, remotePort, localAddress, localPort, encrypted } = head.addresses;
    expect({ ...head, addresses: { remoteAddress, remotePort, localAddress, localPort, encrypted } }).toEqual({
      method: 'POST',
      target: '/a/b?x=1',
      scheme: 'http',
      host: 'example.test',
      headers: [
        ['user-agent', 'vitest'],
        ['accept-language', 'fr'],
        ['cookie', 'a=1; b=2'],
        ['content-type', 'application/json'],
      ],
      contentLength: 12,
      addresses: {
        remoteAddress: '203.0.113.7',
        remotePort: 54321,
        localAddress: '127.0.0.1',
        localPort: 80,
        encrypted: false,
      },
    });
  });

  it('drops hop-by-hop fields, Expect, and HTTP_ copies of Content-Length / Content-Type', () => {
    const head = requestHead({
      REQUEST_METHOD: 'PUT',
      REQUEST_URI: '/',
      HTTP_CONNECTION: 'keep-alive, x-secret',
      HTTP_KEEP_ALIVE: '5',
      HTTP_TRANSFER_ENCODING: 'chunked',
      HTTP_TE: 'trailers',
      HTTP_UPGRADE: 'websocket',
      HTTP_EXPECT: '100-continue',
      HTTP_CONTENT_LENGTH: '99',
      HTTP_CONTENT_TYPE: 'text/evil',
      HTTP_X_KEPT: 'yes',
    });
    expect(head.headers).toEqual([['x-kept', 'yes']]);
    expect(head.contentLength).toBeUndefined();
  });

  it.each([
    [{ REQUEST_URI: '/p?q' }, '/p?q'],
    [{ SCRIPT_NAME: '/app', PATH_INFO: '/users/1', QUERY_STRING: 'a=b' }, '/app/users/1?a=b'],
    [{ SCRIPT_NAME: '/app', QUERY_STRING: '' }, '/app'],
    [{}, '/'],
    [{ REQUEST_URI: 'http://other.example/abs?q=1' }, '/abs?q=1'],
    [{ REQUEST_URI: '*' }, '/'],
    [{ REQUEST_URI: '/with space\t' }, '/with%20space%09'],
    [{ REQUEST_URI: '/caf\u00e9' }, '/caf\u00c3\u00a9'],
  ])('takes the request-target from %j', (env, target) => {
    expect(requestHead(env).target).toBe(target);
  });

  it.each([
    [{ HTTP_HOST: 'h.example:8443', SERVER_NAME: 's' }, 'h.example:8443'],
    [{ SERVER_NAME: 's.example', SERVER_PORT: '80' }, 's.example'],
    [{ SERVER_NAME: 's.example', SERVER_PORT: '8080' }, 's.example:8080'],
    [{ SERVER_NAME: 's.example', SERVER_PORT: '443', HTTPS: 'on' }, 's.example'],
    [{}, 'localhost'],
  ])('takes the Host from %j', (env, host) => {
    expect(requestHead(env).host).toBe(host);
  });

  it('knows https from REQUEST_SCHEME or HTTPS=on', () => {
    expect(requestHead({ REQUEST_SCHEME: 'https' }).scheme).toBe('https');
    expect(requestHead({ HTTPS: 'on' }).addresses.encrypted).toBe(true);
    expect(requestHead({ HTTPS: 'off' }).scheme).toBe('http');
  });

  it('gives field values as the bytes the client sent (latin1 string), and drops unsendable ones', () => {
    const head = requestHead({ HTTP_X_NAME: 'Jos\u00e9', HTTP_X_BAD: 'a\nb', 'HTTP_X(BAD': 'v' });
    expect(head.headers).toEqual([['x-name', 'Jos\u00c3\u00a9']]);
  });

  it.each(['', 'abc', '-1', '1e3', ' 5'])('ignores CONTENT_LENGTH %j', (value) => {
    expect(requestHead({ CONTENT_LENGTH: value }).contentLength).toBeUndefined();
  });

  it('defaults the method to GET', () => {
    expect(requestHead({}).method).toBe('GET');
  });
});

describe('requestUrl', () => {
  it('joins scheme, Host and target, keeping a leading // as a path', () => {
    expect(requestUrl(requestHead({ HTTP_HOST: 'h', REQUEST_URI: '/a?b=1' }))).toBe('http://h/a?b=1');
    expect(requestUrl(requestHead({ HTTP_HOST: 'h', REQUEST_URI: '//evil.example/x', HTTPS: 'on' }))).toBe(
      'https://h//evil.example/x',
    );
  });
});
