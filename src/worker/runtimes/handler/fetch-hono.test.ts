// This file implements the tests of fetch.ts from the perspective of a Hono 4 app run as a fetch
// handler: routes with parameters, JSON bodies, Hono's own error answer.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createFetchHost } from './fetch.ts';
import { fieldValues, nginxEnv, parseReply, testRun } from './runtime-test-peer.ts';

describe('fetch handler: Hono 4', () => {
  const app = new Hono();
  app.get('/hello/:name', (c) => c.text(`hello ${c.req.param('name')}`));
  app.post('/json', async (c) => c.json({ got: await c.req.json<unknown>() }, 202));
  app.get('/boom', () => {
    throw new Error('hono boom');
  });
  app.onError((err, c) => c.text(`caught ${err.message}`, 500));
  const host = createFetchHost(app);

  it('routes with parameters', async () => {
    const t = testRun(nginxEnv('GET', '/hello/world'));
    await host.run(t.req);
    expect(parseReply(t.output()).text).toBe('hello world');
  });

  it('reads a JSON body and answers JSON with its status', async () => {
    const t = testRun(nginxEnv('POST', '/json', { CONTENT_TYPE: 'application/json' }), '{"a":[1,2]}');
    await host.run(t.req);
    const reply = parseReply(t.output());
    expect(reply.status).toBe(202);
    expect(fieldValues(reply, 'content-type')[0]).toMatch(/^application\/json/);
    expect(JSON.parse(reply.text)).toEqual({ got: { a: [1, 2] } });
  });

  it("passes on Hono's own 500 when a route throws (its onError)", async () => {
    const t = testRun(nginxEnv('GET', '/boom'));
    expect((await host.run(t.req)).exitCode).toBe(0);
    const reply = parseReply(t.output());
    expect([reply.status, reply.text]).toEqual([500, 'caught hono boom']);
  });
});
