// This file implements issue 3's "failure stays local" check (item 6) for handlers from the
// perspective of an HTTP client behind nginx: a handler that throws or rejects costs only its
// request (500, the stack in the log), a client that gives up aborts only its request, and
// the same worker serves the next request.
import { describe, expect, it } from 'vitest';
import { waitForRequestLog } from './helpers/logs.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

// Two requests at once in the one worker: `/fine` can tell what the handler holds meanwhile.
const stack = useStack({
  pool: {
    runtime: 'handler',
    'handler.module': `${REPO_ROOT}/test/integration/fixtures/handlers/throwing-handler.cjs`,
    'handler.concurrency': 2,
    match: ['**'],
    pm: { max_children: 1 },
  },
});

interface Served {
  ok: boolean;
  served: number;
  /** `/hang` requests the handler holds now. */
  hanging: number;
  pid: number;
}

async function served(): Promise<Served> {
  const res = await stack().request('/fine');
  expect(res.status).toBe(200);
  return JSON.parse(res.text) as Served;
}

describe('a failing node-http handler behind nginx', () => {
  it('answers 500 when the handler throws, logs the stack, then 200 from the same worker', async () => {
    const { daemon } = stack();
    const before = await served();
    const since = daemon.logs.length;
    const res = await stack().request('/throw');
    expect(res.status).toBe(500);
    expect(res.text).toContain('500 Internal Server Error');
    const stderr = await daemon.waitForLog(
      (e) =>
        e.msg === 'cgi stderr' && typeof e.line === 'string' && e.line.includes('handler threw on purpose'),
      EVENT_TIMEOUT_MS,
      since,
    );
    expect(stderr.line).toBe('handler: handler failed: Error: handler threw on purpose');
    expect(await waitForRequestLog(daemon, '/throw', since)).toMatchObject({ status: 500 });
    const after = await served();
    expect(after.pid).toBe(before.pid);
    expect(after.served).toBe(before.served + 2);
  });

  it('answers 500 when the handler returns a rejected promise', async () => {
    const before = await served();
    expect((await stack().request('/reject')).status).toBe(500);
    expect((await served()).pid).toBe(before.pid);
  });

  it('aborts the request of a client that gives up, and serves the next one', async () => {
    const { daemon } = stack();
    const before = await served();
    expect(before.hanging).toBe(0);
    const since = daemon.logs.length;
    const client = new AbortController();
    const hang = stack().request('/hang', { signal: client.signal });
    // The client gives up once the handler holds its request.
    await waitUntil(
      'the handler holding /hang',
      async () => (await served()).hanging === 1,
      EVENT_TIMEOUT_MS,
    );
    client.abort();
    await expect(hang).rejects.toThrow(/abort/i);
    const line = await waitForRequestLog(daemon, '/hang', since);
    expect(line.aborted).toBe(true);
    // The handler saw 'close' on its response when the request was aborted (+1000).
    const after = await waitUntil(
      "the handler's 'close' on /hang",
      async () => {
        const now = await served();
        return now.hanging === 0 ? now : undefined;
      },
      EVENT_TIMEOUT_MS,
    );
    expect(after.pid).toBe(before.pid);
    expect(after.served).toBeGreaterThanOrEqual(before.served + 1002);
  });
});
