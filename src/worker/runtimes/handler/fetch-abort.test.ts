// This file implements the tests of fetch.ts from the perspective of a worker that runs several
// requests at once on one host and aborts them: each gets its own reply, an abort resolves the run
// at once, aborts the Request's signal and cancels the Response body.
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createFetchHost } from './fetch.ts';
import { nginxEnv, parseReply, testRun } from './runtime-test-peer.ts';

describe('fetch handler: overlapping runs and aborts', () => {
  it('answers 10 overlapping runs on one host, each with its own reply', async () => {
    const host = createFetchHost({
      fetch: async (request) => {
        const n = Number(new URL(request.url).searchParams.get('n'));
        await delay((10 - n) * 3);
        return new Response(`n=${n} body=${await request.text()}`);
      },
    });
    const runs = Array.from({ length: 10 }, (_, n) => testRun(nginxEnv('POST', `/?n=${n}`), `payload ${n}`));
    const results = await Promise.all(runs.map((t) => host.run(t.req)));
    expect(results.every((r) => r.exitCode === 0)).toBe(true);
    runs.forEach((t, n) => {
      expect(parseReply(t.output()).text).toBe(`n=${n} body=payload ${n}`);
    });
  });

  it('resolves at once on abort while fetch is pending; the Request signal is aborted', async () => {
    let signal: AbortSignal | undefined;
    let handlerDone = false;
    const host = createFetchHost({
      fetch: async (request) => {
        signal = request.signal;
        await delay(10_000);
        handlerDone = true;
        return new Response('too late');
      },
    });
    const t = testRun(nginxEnv('GET', '/slow'));
    const running = host.run(t.req);
    await delay(20);
    t.controller.abort();
    expect(await running).toEqual({ exitCode: null, signal: null });
    // Resolved on the abort, not when the handler's 10 s wait ended.
    expect(handlerDone).toBe(false);
    expect(signal?.aborted).toBe(true);
    expect(t.output().length).toBe(0);
  });

  it('cancels the body of a Response that comes after the abort', async () => {
    let cancelled = false;
    let answer: (response: Response) => void = () => undefined;
    const host = createFetchHost({
      fetch: () =>
        new Promise<Response>((resolve) => {
          answer = resolve;
        }),
    });
    const t = testRun(nginxEnv('GET', '/late'));
    const running = host.run(t.req);
    await delay(10);
    t.controller.abort();
    expect(await running).toEqual({ exitCode: null, signal: null });
    answer(
      new Response(
        new ReadableStream({
          cancel: () => {
            cancelled = true;
          },
        }),
      ),
    );
    await delay(10);
    expect(cancelled).toBe(true);
  });

  it('stops and cancels the body when stdout closes under it', async () => {
    let cancelled = false;
    const host = createFetchHost({
      fetch: () =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull: async (controller) => {
              await delay(1);
              controller.enqueue(new Uint8Array(1024));
            },
            cancel: () => {
              cancelled = true;
            },
          }),
        ),
    });
    const t = testRun(nginxEnv('GET', '/endless'));
    const running = host.run(t.req);
    await delay(30);
    t.req.stdout.destroy();
    expect(await running).toEqual({ exitCode: 0, signal: null });
    expect(cancelled).toBe(true);
  });

  it('resolves at once when already aborted', async () => {
    const host = createFetchHost({ fetch: () => new Promise(() => undefined) });
    const t = testRun(nginxEnv('GET', '/'));
    t.controller.abort();
    expect(await host.run(t.req)).toEqual({ exitCode: null, signal: null });
  });

  it('cancels an endless response body on abort', async () => {
    let cancelled = false;
    const host = createFetchHost({
      fetch: () =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull: async (controller) => {
              await delay(1);
              controller.enqueue(new Uint8Array(4096));
            },
            cancel: () => {
              cancelled = true;
            },
          }),
        ),
    });
    const t = testRun(nginxEnv('GET', '/endless'));
    const running = host.run(t.req);
    await delay(50);
    t.controller.abort();
    expect(await running).toEqual({ exitCode: null, signal: null });
    await delay(10);
    expect(cancelled).toBe(true);
  });
});
