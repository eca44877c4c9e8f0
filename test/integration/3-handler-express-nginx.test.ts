// This file implements issue 3's handler check (item 4) from the perspective of an HTTP client
// talking to a real nginx in front of a `runtime = "handler"` pool running an unmodified
// Express 5 app: routes that are no files (/users/42), JSON in and out, a redirect, two
// cookies, a 1 MiB upload, with nginx keeping its FastCGI connections alive.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headerValues } from './helpers/http.ts';
import { waitForRequestLog } from './helpers/logs.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { useStack } from './helpers/use-stack.ts';

const MODULE = `${REPO_ROOT}/test/integration/fixtures/handlers/express-app.mjs`;

const stack = useStack({
  keepAlive: true,
  pool: { runtime: 'handler', 'handler.module': MODULE, match: ['**'], pm: { max_children: 2 } },
});

function json(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

describe('an Express app in a handler pool behind nginx', () => {
  it('routes GET /users/42 (no such file) to the app, with its parameters and query', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/users/42?tab=posts&n=1');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    // nginx's $remote_addr on a unix socket is "unix:"; it reaches req.socket.remoteAddress (req.ip).
    expect(json(res.text)).toMatchObject({
      id: '42',
      query: { tab: 'posts', n: '1' },
      method: 'GET',
      ip: 'unix:',
    });
    const line = await waitForRequestLog(daemon, '/users/42', since);
    expect(line).toMatchObject({ pool: 'main', status: 200 });
  });

  it('parses a POSTed JSON body with express.json() and answers 201 JSON', async () => {
    const res = await stack().request('/items', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cup', tags: ['a', 'b'] }),
    });
    expect(res.status).toBe(201);
    expect(json(res.text)).toEqual({ created: { name: 'cup', tags: ['a', 'b'] } });
  });

  it('turns res.redirect() into 302 with Location', async () => {
    const res = await stack().request('/old-place');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/new-place');
  });

  it('keeps both Set-Cookie fields apart', async () => {
    const res = await stack().request('/cookies');
    expect(res.status).toBe(200);
    expect(headerValues(res, 'set-cookie')).toEqual(['session=abc; Path=/; HttpOnly', 'theme=dark; Path=/']);
    expect(res.text).toBe('two cookies');
  });

  it('streams a 1 MiB upload to the app', async () => {
    const body = randomBytes(1024 * 1024);
    const res = await stack().request('/sha256', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe(`${body.length} ${createHash('sha256').update(body).digest('hex')}`);
  });

  it("passes on Express's own 500 for a throwing route, and keeps serving", async () => {
    const failed = await stack().request('/express-error');
    expect(failed.status).toBe(500);
    const next = await stack().request('/users/7');
    expect(next.status).toBe(200);
  });

  it('answers 404 from the app for a route it does not have', async () => {
    const res = await stack().request('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.text).toContain('Cannot GET /no/such/route');
  });
});
