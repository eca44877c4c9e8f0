// This file implements the tests of node-http.ts from the perspective of a request carrying bytes
// that are not UTF-8 and of the worker taking the handler's response head: header bytes reach the
// handler exactly, target bytes percent-encoded (Node's parser refuses them raw), and the head is
// handed over structured.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createNodeHttpHost } from './node-http.ts';
import { nginxEnv, testRun } from './runtime-test-peer.ts';

describe('node-http handler: bytes and the structured head', () => {
  it('sees header bytes 0x80-0xFF exactly as the web server sent them, and target bytes percent-encoded', async () => {
    let seen: IncomingMessage | undefined;
    const t = testRun(nginxEnv('GET', '/q'));
    const raw = Buffer.from('caf\xe9 \xff', 'latin1');
    t.req.environment = { ...t.req.env, HTTP_X_RAW: raw, REQUEST_URI: Buffer.from('/q?\xe9', 'latin1') };
    await createNodeHttpHost((req, res) => {
      seen = req;
      res.end('ok');
    }).run(t.req);
    expect(Buffer.from(seen?.headers['x-raw'] as string, 'latin1')).toStrictEqual(raw);
    expect(seen?.url).toBe('/q?%E9');
  });

  it('hands its response head over structured (one head, no bytes parsed back)', async () => {
    const t = testRun(nginxEnv('GET', '/h'));
    await createNodeHttpHost((_req, res) => {
      res.writeHead(201, 'Made', { 'X-One': '1', Connection: 'close' });
      res.end('body');
    }).run(t.req);
    expect(t.heads).toEqual([{ status: 201, reason: 'Made', headers: expect.arrayContaining([['X-One', '1']]) as unknown }]);
    expect(t.heads[0]?.headers.some(([name]) => name.toLowerCase() === 'connection')).toBe(false);
  });
});
