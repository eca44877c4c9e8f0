// This file implements the tests of node-http.ts from the perspective of a worker that runs several
// requests at once on one host and aborts them: each gets its own reply, an abort resolves the run
// at once and the handler sees close.
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createNodeHttpHost } from './node-http.ts';
import { nginxEnv, parseReply, testRun } from './runtime-test-peer.ts';

const MIB = 1024 * 1024;
/** 1 MiB of varied bytes. */
const BIG = Buffer.from(Array.from({ length: MIB }, (_, i) => (i * 7 + (i >> 10)) & 0xff));

describe('node-http handler: overlapping runs and aborts', () => {
  it('answers 10 overlapping runs on one host, each with its own reply', async () => {
    const host = createNodeHttpHost(async (req, res) => {
      const n = Number(new URL(req.url ?? '', 'http://x').searchParams.get('n'));
      await delay((10 - n) * 3);
      let body = '';
      for await (const chunk of req) body += String(chunk);
      res.end(`n=${n} body=${body}`);
    });
    const runs = Array.from({ length: 10 }, (_, n) => testRun(nginxEnv('POST', `/?n=${n}`), `payload ${n}`));
    const results = await Promise.all(runs.map((t) => host.run(t.req)));
    expect(results.every((r) => r.exitCode === 0)).toBe(true);
    runs.forEach((t, n) => {
      expect(parseReply(t.output()).text).toBe(`n=${n} body=payload ${n}`);
    });
  });

  it('resolves at once on abort, and the handler sees close on req and res', async () => {
    const events: string[] = [];
    const host = createNodeHttpHost((req, res) => {
      req.on('close', () => events.push('req close'));
      res.on('close', () => events.push('res close'));
    });
    const t = testRun(nginxEnv('GET', '/hang'));
    const running = host.run(t.req);
    await delay(20);
    t.controller.abort();
    // The handler never answers: resolving at all is the proof (no wall-clock bound).
    expect(await running).toEqual({ exitCode: null, signal: null });
    await delay(10);
    expect(events.sort()).toEqual(['req close', 'res close']);
  });

  it('stops a response streaming to a stalled client on abort', async () => {
    const host = createNodeHttpHost((_req, res) => {
      const timer = setInterval(() => res.write(BIG.subarray(0, 65536)), 1);
      res.on('close', () => {
        clearInterval(timer);
      });
    });
    const t = testRun(nginxEnv('GET', '/stream'), undefined, { writeDelayMs: 50 });
    const running = host.run(t.req);
    await delay(100);
    t.controller.abort();
    expect(await running).toEqual({ exitCode: null, signal: null });
  });

  it('resolves at once when already aborted', async () => {
    const host = createNodeHttpHost(() => undefined);
    const t = testRun(nginxEnv('GET', '/'));
    t.controller.abort();
    expect(await host.run(t.req)).toEqual({ exitCode: null, signal: null });
  });

  it('close() resets runs still open', async () => {
    const host = createNodeHttpHost(() => undefined);
    const t = testRun(nginxEnv('GET', '/'));
    const running = host.run(t.req);
    await delay(10);
    await host.close();
    expect((await running).exitCode).toBe(1);
  });
});
