// This file implements issue 3's handler check (item 4) for fetch handlers from the perspective
// of an HTTP client talking to a real nginx in front of a `runtime = "handler"` pool: an
// unmodified Hono 4 app (`export default app`), and a CommonJS module compiled from
// `export default { fetch }`.
import { describe, expect, it } from 'vitest';
import { headerValues } from './helpers/http.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { useStack } from './helpers/use-stack.ts';

const FIXTURES = `${REPO_ROOT}/test/integration/fixtures/handlers`;

function handlerPool(module: string): Record<string, unknown> {
  return { runtime: 'handler', 'handler.module': module, match: ['**'], pm: { max_children: 1 } };
}

describe('a Hono app in a handler pool behind nginx', () => {
  const stack = useStack({ pool: handlerPool(`${FIXTURES}/hono-app.mjs`) });

  it('routes GET /hello/:name with the Host the client sent', async () => {
    const res = await stack().request('/hello/ada', { headers: { host: 'app.example' } });
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello ada from app.example');
  });

  it('reads a JSON body and answers 201 JSON with the full URL', async () => {
    const res = await stack().request('/echo-json?x=1', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"list":[1,2,3]}',
    });
    expect(res.status).toBe(201);
    expect(JSON.parse(res.text)).toEqual({
      echoed: { list: [1, 2, 3] },
      url: 'http://localhost/echo-json?x=1',
    });
  });

  it('keeps both Set-Cookie fields apart', async () => {
    const res = await stack().request('/cookies');
    expect(headerValues(res, 'set-cookie')).toEqual(['a=1; Path=/', 'b=2; Path=/']);
  });

  it("passes on Hono's onError 500, then serves the next request", async () => {
    const failed = await stack().request('/boom');
    expect([failed.status, failed.text]).toEqual([500, 'hono caught: hono route failed']);
    expect((await stack().request('/hello/again')).status).toBe(200);
  });
});

describe('a CommonJS fetch handler compiled from TypeScript behind nginx', () => {
  const stack = useStack({ pool: handlerPool(`${FIXTURES}/fetch-compiled.cjs`) });

  it('answers with the method, path, query and body it got', async () => {
    const res = await stack().request('/a/b?c=d', { method: 'PUT', body: 'payload' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('PUT /a/b?c=d [payload]');
  });

  it('answers 500 when fetch throws, then 200', async () => {
    expect((await stack().request('/throw')).status).toBe(500);
    expect((await stack().request('/fine')).status).toBe(200);
  });
});
