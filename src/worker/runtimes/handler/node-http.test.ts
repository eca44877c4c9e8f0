// This file implements the tests of node-http.ts from the perspective of a worker running
// node-http handlers: what the handler sees, what the web server gets back, big bodies both
// ways with backpressure, failures, overlapping runs and aborts.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createNodeHttpHost } from './node-http.ts';
import { fieldValues, nginxEnv, parseReply, testRun } from './runtime-test-peer.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

async function run(handler: Handler, env: Record<string, string>, body?: Buffer | string) {
  const host = createNodeHttpHost(handler);
  const t = testRun(env, body);
  const result = await host.run(t.req);
  return { result, reply: parseReply(t.output()), stderr: t.stderr };
}

const MIB = 1024 * 1024;
/** 1 MiB of varied bytes. */
const BIG = Buffer.from(Array.from({ length: MIB }, (_, i) => (i * 7 + (i >> 10)) & 0xff));
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('node-http handler: the request it sees', () => {
  it('gets method, target, HTTP/1.1, the client fields, Host and REMOTE_ADDR as the socket address', async () => {
    let seen: IncomingMessage | undefined;
    const env = nginxEnv('GET', '/a/b?x=1&y=%20', {
      HTTP_ACCEPT: 'text/html',
      HTTP_X_FORWARDED_FOR: '10.0.0.1',
    });
    const { result, reply } = await run((req, res) => {
      seen = req;
      res.end('ok');
    }, env);
    expect(result).toEqual({ exitCode: 0, signal: null });
    expect(reply.status).toBe(200);
    expect(seen?.method).toBe('GET');
    expect(seen?.url).toBe('/a/b?x=1&y=%20');
    expect(seen?.httpVersion).toBe('1.1');
    expect(seen?.headers).toMatchObject({
      host: 'example.test',
      accept: 'text/html',
      'user-agent': 'vitest',
      'x-forwarded-for': '10.0.0.1',
    });
    expect(seen?.socket.remoteAddress).toBe('203.0.113.7');
    expect(seen?.socket.remotePort).toBe(54321);
  });

  it('gets a POST body with its Content-Type and Content-Length', async () => {
    const env = nginxEnv('POST', '/echo', { CONTENT_TYPE: 'text/plain' });
    const { reply } = await run(
      (req, res) => {
        res.setHeader('Content-Type', req.headers['content-type'] ?? '');
        res.setHeader('X-Length', req.headers['content-length'] ?? '');
        req.pipe(res);
      },
      env,
      'hello body',
    );
    expect(reply.text).toBe('hello body');
    expect(fieldValues(reply, 'content-type')).toEqual(['text/plain']);
    expect(fieldValues(reply, 'x-length')).toEqual(['10']);
  });
});

describe('node-http handler: the reply', () => {
  it('gives Status with the reason, two Set-Cookie, and no hop-by-hop fields', async () => {
    const { reply } = await run(
      (_req, res) => {
        res.statusCode = 201;
        res.statusMessage = 'Made It';
        res.setHeader('Set-Cookie', ['a=1', 'b=2']);
        res.write('chunk one, ');
        res.end('chunk two');
      },
      nginxEnv('GET', '/'),
    );
    expect(reply.status).toBe(201);
    expect(reply.reason).toBe('Made It');
    expect(fieldValues(reply, 'set-cookie')).toEqual(['a=1', 'b=2']);
    expect(fieldValues(reply, 'transfer-encoding')).toEqual([]);
    expect(fieldValues(reply, 'connection')).toEqual([]);
    expect(reply.text).toBe('chunk one, chunk two');
  });

  it('skips 1xx interim responses (103 Early Hints) and passes on the final one', async () => {
    const { reply } = await run(
      (_req, res) => {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        res.statusCode = 202;
        res.end('accepted');
      },
      nginxEnv('GET', '/'),
    );
    expect([reply.status, reply.text]).toEqual([202, 'accepted']);
    expect(fieldValues(reply, 'link')).toEqual([]);
  });

  it('decodes a body the handler sends with Transfer-Encoding: chunked itself', async () => {
    const { reply } = await run(
      (_req, res) => {
        res.setHeader('Transfer-Encoding', 'chunked');
        res.write('one ');
        res.end('two');
      },
      nginxEnv('GET', '/'),
    );
    expect(reply.text).toBe('one two');
    expect(fieldValues(reply, 'transfer-encoding')).toEqual([]);
  });

  it('keeps Content-Length and sends no body for HEAD', async () => {
    const { reply } = await run(
      (_req, res) => {
        res.setHeader('Content-Length', '5');
        res.end('hello');
      },
      nginxEnv('HEAD', '/'),
    );
    expect(fieldValues(reply, 'content-length')).toEqual(['5']);
    expect(reply.body.length).toBe(0);
  });

  it('echoes a 1 MiB POST body through a slow client, bytes intact', async () => {
    const host = createNodeHttpHost((req, res) => {
      req.pipe(res);
    });
    const t = testRun(nginxEnv('POST', '/echo'), BIG, { writeDelayMs: 1 });
    expect(await host.run(t.req)).toEqual({ exitCode: 0, signal: null });
    const reply = parseReply(t.output());
    expect(reply.body.length).toBe(MIB);
    expect(sha256(reply.body)).toBe(sha256(BIG));
  });

  it('answers at once without reading a 1 MiB body it does not want', async () => {
    const host = createNodeHttpHost((_req, res) => {
      res.statusCode = 413;
      res.end('too large');
    });
    const t = testRun(nginxEnv('POST', '/upload'), BIG);
    expect(await host.run(t.req)).toEqual({ exitCode: 0, signal: null });
    const reply = parseReply(t.output());
    expect([reply.status, reply.text]).toEqual([413, 'too large']);
  });

  it('streams a 1 MiB response written in 64 KiB pieces with backpressure', async () => {
    const { reply } = await run(
      (_req, res) => {
        let offset = 0;
        const more = (): void => {
          while (offset < BIG.length) {
            const piece = BIG.subarray(offset, offset + 65536);
            offset += piece.length;
            if (!res.write(piece)) {
              res.once('drain', more);
              return;
            }
          }
          res.end();
        };
        more();
      },
      nginxEnv('GET', '/big'),
    );
    expect(sha256(reply.body)).toBe(sha256(BIG));
  });
});

describe('node-http handler: failures', () => {
  it('answers 500 and logs the stack when the handler throws, then serves the next request', async () => {
    let calls = 0;
    const host = createNodeHttpHost((_req, res) => {
      calls++;
      if (calls === 1) throw new Error('boom');
      res.end('fine');
    });
    const first = testRun(nginxEnv('GET', '/'));
    expect(await host.run(first.req)).toEqual({ exitCode: 1, signal: null });
    expect(parseReply(first.output()).status).toBe(500);
    expect(first.stderr[0]).toBe('handler: handler failed: Error: boom');
    expect(first.stderr.some((line) => line.includes('node-http.test.ts'))).toBe(true);
    const second = testRun(nginxEnv('GET', '/'));
    expect(await host.run(second.req)).toEqual({ exitCode: 0, signal: null });
    expect(parseReply(second.output()).text).toBe('fine');
  });

  it('answers 500 when an async handler rejects', async () => {
    const { result, reply, stderr } = await run(
      async () => {
        await delay(5);
        throw new TypeError('late boom');
      },
      nginxEnv('GET', '/'),
    );
    expect(result.exitCode).toBe(1);
    expect(reply.status).toBe(500);
    expect(stderr[0]).toContain('TypeError: late boom');
  });

  it('cuts the response short when the handler fails after answering began', async () => {
    const host = createNodeHttpHost(async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('partial');
      await delay(20);
      throw new Error('mid-body');
    });
    const t = testRun(nginxEnv('GET', '/'));
    expect(await host.run(t.req)).toEqual({ exitCode: 1, signal: null });
    const reply = parseReply(t.output());
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('partial');
    expect(t.stderr[0]).toContain('mid-body');
  });

  it('reports a response cut short when the handler drops the connection mid-body', async () => {
    const host = createNodeHttpHost((_req, res) => {
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 10);
    });
    const t = testRun(nginxEnv('GET', '/'));
    expect(await host.run(t.req)).toEqual({ exitCode: 1, signal: null });
    expect(parseReply(t.output()).text).toBe('partial');
    expect(t.stderr[0]).toBe(
      'handler: response cut short: Error: the connection closed before the response ended',
    );
  });

  it('answers 400 for a method Node will not send', async () => {
    const { result, reply, stderr } = await run(() => undefined, nginxEnv('BAD METHOD', '/'));
    expect([result.exitCode, reply.status]).toEqual([1, 400]);
    expect(stderr[0]).toContain('cannot pass the request to the handler');
  });

  it('writes nothing (the worker answers 502) when the handler drops the connection', async () => {
    const host = createNodeHttpHost((req) => {
      req.socket.destroy();
    });
    const t = testRun(nginxEnv('GET', '/'));
    expect(await host.run(t.req)).toEqual({ exitCode: 1, signal: null });
    expect(t.output().length).toBe(0);
    expect(t.stderr[0]).toContain('connection closed without a response');
  });
});

