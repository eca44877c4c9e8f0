// This file implements the tests of fetch.ts from the perspective of a worker running fetch
// handlers: the Request they get, the Response turned into CGI, big bodies, failures,
// overlapping runs and aborts, with a plain `{ fetch }` object and a Hono app.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createFetchHost } from './fetch.ts';
import { fieldValues, nginxEnv, parseReply, testRun } from './runtime-test-peer.ts';

type Fetch = (request: Request) => unknown;

async function run(fetch: Fetch, env: Record<string, string>, body?: Buffer | string) {
  const host = createFetchHost({ fetch });
  const t = testRun(env, body);
  const result = await host.run(t.req);
  return { result, reply: parseReply(t.output()), stderr: t.stderr };
}

const MIB = 1024 * 1024;
const BIG = Buffer.from(Array.from({ length: MIB }, (_, i) => (i * 13 + (i >> 12)) & 0xff));
const sha256 = (data: Buffer | Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('fetch handler: the Request it gets', () => {
  it('has the URL from scheme, Host and REQUEST_URI, the method, the fields and the body', async () => {
    let seen:
      { url: string; method: string; host: string | null; type: string | null; body: string } | undefined;
    const env = nginxEnv('PUT', '/things/7?full=1', { CONTENT_TYPE: 'text/plain', REQUEST_SCHEME: 'https' });
    const { result, reply } = await run(
      async (request) => {
        seen = {
          url: request.url,
          method: request.method,
          host: request.headers.get('host'),
          type: request.headers.get('content-type'),
          body: await request.text(),
        };
        return new Response('ok');
      },
      env,
      'the body',
    );
    expect(result).toEqual({ exitCode: 0, signal: null });
    expect(reply.text).toBe('ok');
    expect(seen).toEqual({
      url: 'https://example.test/things/7?full=1',
      method: 'PUT',
      host: 'example.test',
      type: 'text/plain',
      body: 'the body',
    });
  });

  it('has no body for GET, and SERVER_NAME as the host without HTTP_HOST', async () => {
    let seen: { url: string; body: unknown } | undefined;
    const env = nginxEnv('GET', '/x', { SERVER_PORT: '8080' });
    delete env.HTTP_HOST;
    await run((request) => {
      seen = { url: request.url, body: request.body };
      return new Response(null, { status: 204 });
    }, env);
    expect(seen).toEqual({ url: 'http://localhost:8080/x', body: null });
  });

  it('streams a 1 MiB body in and a 1 MiB body out', async () => {
    const host = createFetchHost({
      fetch: async (request) => {
        const received = Buffer.from(await request.arrayBuffer());
        return new Response(Buffer.concat([Buffer.from(`${sha256(received)}\n`), BIG]));
      },
    });
    const t = testRun(nginxEnv('POST', '/upload'), BIG, { writeDelayMs: 1 });
    expect(await host.run(t.req)).toEqual({ exitCode: 0, signal: null });
    const reply = parseReply(t.output());
    expect(reply.body.subarray(0, 65).toString()).toBe(`${sha256(BIG)}\n`);
    expect(sha256(reply.body.subarray(65))).toBe(sha256(BIG));
  });
});

describe('fetch handler: the reply', () => {
  it('answers at once without reading a 1 MiB body it does not want', async () => {
    const { result, reply } = await run(
      () => new Response('too large', { status: 413 }),
      nginxEnv('POST', '/'),
      BIG,
    );
    expect(result).toEqual({ exitCode: 0, signal: null });
    expect([reply.status, reply.text]).toEqual([413, 'too large']);
  });

  it('takes string chunks from a lenient body stream, and fails on other chunk types', async () => {
    const stream = (chunk: unknown): ReadableStream<Uint8Array> =>
      new ReadableStream({
        start(controller) {
          controller.enqueue(chunk as Uint8Array);
          controller.close();
        },
      });
    const text = await run(() => new Response(stream('plain text')), nginxEnv('GET', '/'));
    expect(text.reply.text).toBe('plain text');
    const odd = await run(() => new Response(stream(42)), nginxEnv('GET', '/'));
    expect(odd.result.exitCode).toBe(1);
    expect(odd.stderr[0]).toBe(
      'handler: response body failed: TypeError: response body chunk is number, not bytes',
    );
  });

  it('gives Status with the reason, every Set-Cookie, and the fields', async () => {
    const { reply } = await run(
      () => {
        const headers = new Headers({ 'Content-Type': 'text/plain', 'X-Thing': 'a' });
        headers.append('Set-Cookie', 'a=1; Path=/');
        headers.append('Set-Cookie', 'b=2, with comma; HttpOnly');
        return new Response('made', { status: 201, statusText: 'Made It', headers });
      },
      nginxEnv('GET', '/'),
    );
    expect(reply.status).toBe(201);
    expect(reply.reason).toBe('Made It');
    expect(fieldValues(reply, 'set-cookie')).toEqual(['a=1; Path=/', 'b=2, with comma; HttpOnly']);
    expect(fieldValues(reply, 'x-thing')).toEqual(['a']);
    expect(reply.text).toBe('made');
  });

  it('uses the standard reason phrase when statusText is empty', async () => {
    const { reply } = await run(() => new Response('nope', { status: 404 }), nginxEnv('GET', '/'));
    expect([reply.status, reply.reason]).toEqual([404, 'Not Found']);
  });
});

describe('fetch handler: failures', () => {
  it.each([
    [
      'throws',
      (): never => {
        throw new Error('sync boom');
      },
      'fetch() threw: Error: sync boom',
    ],
    ['rejects', () => Promise.reject(new Error('async boom')), 'fetch() rejected: Error: async boom'],
    [
      'answers a non-Response',
      () => ({ status: 200 }),
      'fetch() did not answer a Response: TypeError: got an object (Object)',
    ],
    ['answers undefined', () => undefined, 'fetch() did not answer a Response: TypeError: got undefined'],
  ])('answers 500 when fetch %s, and logs why', async (_what, fetch, line) => {
    const { result, reply, stderr } = await run(fetch, nginxEnv('GET', '/'));
    expect(result).toEqual({ exitCode: 1, signal: null });
    expect(reply.status).toBe(500);
    expect(stderr[0]).toBe(`handler: ${line}`);
  });

  it('answers 500 for a Response-like object whose head cannot be CGI (status 42)', async () => {
    const { result, reply, stderr } = await run(
      () => ({ status: 42, headers: new Map([['x-a', '1']]), body: null }),
      nginxEnv('GET', '/'),
    );
    expect([result.exitCode, reply.status]).toEqual([1, 500]);
    expect(stderr[0]).toBe(
      'handler: response head cannot be sent as CGI: TypeError: cgi: encode head: bad status 42',
    );
  });

  it('takes a Response-like object from another copy of undici (same shape)', async () => {
    const body = new Response('from elsewhere').body;
    const { reply } = await run(
      () => ({ status: 203, statusText: '', headers: new Map([['x-from', 'copy']]), body }),
      nginxEnv('GET', '/'),
    );
    expect([reply.status, reply.reason, reply.text]).toEqual([
      203,
      'Non-Authoritative Information',
      'from elsewhere',
    ]);
    expect(fieldValues(reply, 'x-from')).toEqual(['copy']);
  });

  it('answers 400 for a request the Fetch standard refuses (TRACE)', async () => {
    const { result, reply } = await run(() => new Response('never'), nginxEnv('TRACE', '/'));
    expect(result.exitCode).toBe(1);
    expect(reply.status).toBe(400);
  });

  it('reports a body stream that fails half-way, after the head went out', async () => {
    const host = createFetchHost({
      fetch: () => {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('first part'));
            setTimeout(() => {
              controller.error(new Error('stream broke'));
            }, 10);
          },
        });
        return new Response(body);
      },
    });
    const t = testRun(nginxEnv('GET', '/'));
    expect(await host.run(t.req)).toEqual({ exitCode: 1, signal: null });
    expect(parseReply(t.output()).text).toBe('first part');
    expect(t.stderr[0]).toContain('stream broke');
  });
});

