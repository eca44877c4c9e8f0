// This file implements the tests of handler.ts and load-handler.ts from the perspective of a
// worker starting a handler pool: each module shape loads (ESM, CommonJS, Express, Hono,
// `{ fetch }`), serves through the loaded host, and a bad module is refused with its name and
// the reason.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolConfig } from '../../../config/schema.ts';
import { testPoolConfig } from '../../../config/pool-config-test-peer.ts';
import { DaemonError, ErrorCode } from '../../../errors.ts';
import { createHandlerRuntime } from './handler.ts';
import { loadHandler } from './load-handler.ts';
import { fieldValues, fixture, nginxEnv, parseReply, testRun } from './runtime-test-peer.ts';

const log = pino({ level: 'silent' });

function pool(module: string | undefined): PoolConfig {
  return testPoolConfig({
    name: 'app',
    root: '/srv/app',
    runtime: 'handler',
    requestTerminateTimeoutMs: 0,
    handler: { module, concurrency: 4 },
  });
}

/** Loads `name` from the fixtures and runs one request through it. */
async function serve(name: string, env: Record<string, string>, body?: string) {
  const host = await createHandlerRuntime(pool(fixture(name)), { log });
  const t = testRun(env, body);
  const result = await host.run(t.req);
  await host.close();
  return { result, reply: parseReply(t.output()), stderr: t.stderr };
}

describe('createHandlerRuntime: module shapes', () => {
  it.each([
    ['node-handler.mjs', 'node-http'],
    ['node-handler.cjs', 'node-http'],
    ['express-app.mjs', 'node-http'],
    ['hono-app.mjs', 'fetch'],
    ['fetch-object.mjs', 'fetch'],
    ['fetch-default.cjs', 'fetch'],
  ])('finds the handler of %s (%s)', async (name, api) => {
    expect((await loadHandler(fixture(name))).api).toBe(api);
  });

  it('serves a plain node-http handler: status, two Set-Cookie', async () => {
    const { result, reply } = await serve('node-handler.mjs', nginxEnv('GET', '/cookies'));
    expect(result).toEqual({ exitCode: 0, signal: null });
    expect(reply.status).toBe(201);
    expect(fieldValues(reply, 'set-cookie')).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
  });

  it('serves a CommonJS module.exports handler', async () => {
    const { reply } = await serve('node-handler.cjs', nginxEnv('DELETE', '/thing?x=1'));
    expect(reply.text).toBe('cjs DELETE /thing?x=1');
  });

  it('serves a 500 when the module handler throws', async () => {
    const { result, reply, stderr } = await serve('node-handler.mjs', nginxEnv('GET', '/throw'));
    expect(result.exitCode).toBe(1);
    expect(reply.status).toBe(500);
    expect(stderr[0]).toBe('handler: handler failed: Error: boom from node-handler');
  });

  it('serves an Express app: params, query, REMOTE_ADDR', async () => {
    const { reply } = await serve('express-app.mjs', nginxEnv('GET', '/users/42?tab=posts'));
    expect(JSON.parse(reply.text)).toEqual({
      id: '42',
      query: { tab: 'posts' },
      ip: '203.0.113.7',
      protocol: 'http',
    });
  });

  it('serves an Express app: express.json() body and redirect', async () => {
    const env = nginxEnv('POST', '/items', { CONTENT_TYPE: 'application/json' });
    const posted = await serve('express-app.mjs', env, '{"title":"x"}');
    expect(posted.reply.status).toBe(201);
    expect(JSON.parse(posted.reply.text)).toEqual({ received: { title: 'x' } });
    const moved = await serve('express-app.mjs', nginxEnv('GET', '/old'));
    expect(moved.reply.status).toBe(302);
    expect(fieldValues(moved.reply, 'location')).toEqual(['/new']);
  });

  it('serves a Hono app (export default app): params, Host, JSON, two Set-Cookie', async () => {
    const hello = await serve('hono-app.mjs', nginxEnv('GET', '/hello/ada'));
    expect(hello.reply.text).toBe('hello ada via example.test');
    const env = nginxEnv('POST', '/json', { CONTENT_TYPE: 'application/json' });
    const posted = await serve('hono-app.mjs', env, '[1,"two"]');
    expect(posted.reply.status).toBe(202);
    expect(JSON.parse(posted.reply.text)).toEqual({ got: [1, 'two'], url: 'http://example.test/json' });
    const cookies = await serve('hono-app.mjs', nginxEnv('GET', '/cookies'));
    expect(cookies.reply.status).toBe(204);
    expect(fieldValues(cookies.reply, 'set-cookie')).toEqual(['x=1', 'y=2']);
  });

  it('serves a plain { fetch } object, and 500 when it throws or answers no Response', async () => {
    const ok = await serve('fetch-object.mjs', nginxEnv('PATCH', '/p?q=1'), 'data');
    expect(ok.reply.text).toBe('PATCH /p?q=1 data');
    const thrown = await serve('fetch-object.mjs', nginxEnv('GET', '/throw'));
    expect([thrown.result.exitCode, thrown.reply.status]).toEqual([1, 500]);
    expect(thrown.stderr[0]).toBe('handler: fetch() rejected: Error: boom from fetch-object');
    const wrong = await serve('fetch-object.mjs', nginxEnv('GET', '/not-a-response'));
    expect(wrong.reply.status).toBe(500);
  });

  it('serves a CommonJS module compiled from export default { fetch }', async () => {
    const { reply } = await serve('fetch-default.cjs', nginxEnv('GET', '/c'));
    expect(reply.text).toBe('compiled /c');
  });

  it('answers 10 overlapping requests on one loaded host', async () => {
    const host = await createHandlerRuntime(pool(fixture('express-app.mjs')), { log });
    const runs = Array.from({ length: 10 }, (_, n) => testRun(nginxEnv('GET', `/users/${n}`)));
    await Promise.all(runs.map((t) => host.run(t.req)));
    runs.forEach((t, n) => {
      expect((JSON.parse(parseReply(t.output()).text) as { id: string }).id).toBe(String(n));
    });
  });
});

describe('createHandlerRuntime: refusals', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-handler-'));
    await writeFile(join(dir, 'syntax.mjs'), 'export default function (req, res) {\n  res.end(;\n}\n');
    await writeFile(
      join(dir, 'missing-dep.mjs'),
      "import x from 'no-such-package-cgi-fpm';\nexport default x;\n",
    );
    await writeFile(join(dir, 'top-level-throw.cjs'), "throw new Error('cannot start: no DATABASE_URL');\n");
    await writeFile(join(dir, 'throw-number.mjs'), 'throw 42;\n');
    await writeFile(join(dir, 'string.mjs'), "export default 'hello';\n");
    await writeFile(join(dir, 'array.cjs'), 'module.exports = [1, 2];\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function refusal(module: string | undefined): Promise<DaemonError> {
    const error: unknown = await createHandlerRuntime(pool(module), { log }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DaemonError);
    expect((error as DaemonError).code).toBe(ErrorCode.ERR_RUNTIME_START);
    return error as DaemonError;
  }

  it('names the module and what it exports when that is no handler', async () => {
    const file = fixture('bad-export.mjs');
    expect((await refusal(file)).message).toBe(
      `runtime: handler: "${file}" exports no handler: expected a (req, res) function or an object with ` +
        'fetch(request) as its default export or module.exports; got default export: object with keys ' +
        '[hello, fetch], fetch is string; named exports: helper',
    );
  });

  it.each([
    ['string.mjs', "got default export: string 'hello'"],
    ['array.cjs', 'got default export: array of length 2'],
  ])('names what %s exports', async (name, what) => {
    expect((await refusal(join(dir, name))).message).toContain(what);
  });

  it('names the named exports of a module without a default export', async () => {
    expect((await refusal(fixture('named-only.mjs'))).message).toMatch(
      /got no default export; named exports: handler$/,
    );
  });

  // Under vitest the import goes through Vite, which words a syntax error its own way; Node's
  // `SyntaxError` is what the built worker reports.
  it.each([
    ['syntax.mjs', /SyntaxError|invalid JS syntax/],
    ['missing-dep.mjs', /no-such-package-cgi-fpm/],
    ['top-level-throw.cjs', /Error: cannot start: no DATABASE_URL/],
    ['throw-number.mjs', /": 42$/],
  ])('names the module and the cause when %s cannot be imported', async (name, cause) => {
    const error = await refusal(join(dir, name));
    expect(error.message).toContain(`runtime: handler: cannot load "${join(dir, name)}": `);
    expect(error.message).toMatch(cause);
    expect(error.cause).toBeDefined();
  });

  it('names a module that does not exist', async () => {
    const error = await refusal(join(dir, 'absent.mjs'));
    expect(error.message).toContain(`cannot load "${join(dir, 'absent.mjs')}"`);
  });

  it('names the pool when it has no handler.module', async () => {
    expect((await refusal(undefined)).message).toBe(
      'runtime: handler: pool "app" has no handler.module (the module exporting the handler)',
    );
  });
});
