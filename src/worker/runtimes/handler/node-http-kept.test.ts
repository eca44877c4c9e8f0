// This file implements the tests of node-http.ts from the perspective of a worker that keeps its
// in-memory connections between requests, and of an Express 5 app run as a node-http handler.
import express from 'express';
import { describe, expect, it } from 'vitest';
import { createNodeHttpHost } from './node-http.ts';
import { fieldValues, nginxEnv, parseReply, testRun } from './runtime-test-peer.ts';

describe('node-http handler: kept connections', () => {
  it('serves consecutive requests on one kept connection, each with its own client address', async () => {
    const sockets: unknown[] = [];
    const host = createNodeHttpHost((req, res) => {
      sockets.push(req.socket);
      res.end(`${req.socket.remoteAddress ?? ''} ${String(req.socket.remotePort)} ${req.url ?? ''}`);
    });
    const first = testRun(nginxEnv('GET', '/one'));
    const second = testRun(nginxEnv('GET', '/two', { REMOTE_ADDR: '2001:db8::1', REMOTE_PORT: '4242' }));
    expect(await host.run(first.req)).toEqual({ exitCode: 0, signal: null });
    expect(await host.run(second.req)).toEqual({ exitCode: 0, signal: null });
    expect(parseReply(first.output()).text).toBe('203.0.113.7 54321 /one');
    expect(parseReply(second.output()).text).toBe('2001:db8::1 4242 /two');
    expect(sockets[1]).toBe(sockets[0]);
    expect((sockets[1] as { remoteFamily?: string }).remoteFamily).toBe('IPv6');
  });

  it('opens a new connection after one the handler closed, one with a body, and one that failed', async () => {
    const sockets: unknown[] = [];
    const host = createNodeHttpHost((req, res) => {
      sockets.push(req.socket);
      if (req.url === '/close') res.setHeader('Connection', 'close');
      if (req.url === '/fail') throw new Error('fails');
      req.resume();
      res.end('ok');
    });
    const urls = ['/close', '/after-close', '/post', '/after-post', '/fail', '/after-fail'];
    for (const url of urls) {
      const t = url === '/post' ? testRun(nginxEnv('POST', url), 'a body') : testRun(nginxEnv('GET', url));
      expect((await host.run(t.req)).exitCode).toBe(url === '/fail' ? 1 : 0);
      expect(parseReply(t.output()).status).toBe(url === '/fail' ? 500 : 200);
    }
    expect(new Set(sockets).size).toBe(4);
    expect(sockets[1]).not.toBe(sockets[0]);
    expect(sockets[3]).not.toBe(sockets[2]);
    expect(sockets[5]).not.toBe(sockets[4]);
  });
});

describe('node-http handler: Express 5', () => {
  const app = express();
  app.use(express.json());
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id, ip: req.ip, secure: req.secure });
  });
  app.post('/items', (req, res) => {
    res.status(201).json({ received: req.body as unknown });
  });
  app.get('/old', (_req, res) => {
    res.redirect('/new');
  });
  const host = createNodeHttpHost(app);

  it('routes with parameters and sees REMOTE_ADDR and HTTPS', async () => {
    const t = testRun(nginxEnv('GET', '/users/42', { HTTPS: 'on', REQUEST_SCHEME: 'https' }));
    await host.run(t.req);
    const reply = parseReply(t.output());
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({ id: '42', ip: '203.0.113.7', secure: true });
  });

  it('parses a JSON body with express.json()', async () => {
    const t = testRun(
      nginxEnv('POST', '/items', { CONTENT_TYPE: 'application/json' }),
      '{"name":"cup","n":2}',
    );
    await host.run(t.req);
    const reply = parseReply(t.output());
    expect(reply.status).toBe(201);
    expect(JSON.parse(reply.text)).toEqual({ received: { name: 'cup', n: 2 } });
  });

  it('turns res.redirect into Status 302 with Location', async () => {
    const t = testRun(nginxEnv('GET', '/old'));
    await host.run(t.req);
    const reply = parseReply(t.output());
    expect(reply.status).toBe(302);
    expect(fieldValues(reply, 'location')).toEqual(['/new']);
  });
});
