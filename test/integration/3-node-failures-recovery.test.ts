// This file implements issue 3's failure checks for `runtime = "node"` from the perspective of
// an HTTP client behind nginx: an uncaught exception is a 500 with the stack in the log,
// `process.exit(3)` before any header is a 502 ("no cgi headers", exit code 3), a script that
// never ends is a 504 after request_terminate_timeout — and each time the same worker serves
// the next request with a 200.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeStack } from './3-node-stack.ts';
import { waitForEvent, waitForRequestLog } from './helpers/logs.ts';
import { useStack } from './helpers/use-stack.ts';

const TIMEOUT_MS = 2000;

const stack = useStack(
  nodeStack([{ name: 'node', keys: { request_terminate_timeout: `${TIMEOUT_MS / 1000}s` } }]),
);

/** The next request answers 200 from the same worker process (the runtime recovered). */
async function expectRecovered(failedPid: unknown): Promise<void> {
  const { daemon } = stack();
  const since = daemon.logs.length;
  const next = await stack().request('/node/timer.js');
  expect(next.status).toBe(200);
  expect(next.text).toBe('now\nafter 10 ms\n');
  const line = await waitForRequestLog(daemon, 'timer.js', since);
  expect(line.pid).toBe(failedPid);
}

describe('node runtime failures behind nginx', () => {
  it('an uncaught exception is a 500 with the stack in the log, then the next request is a 200', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/node/throw.js');
    expect(res.status).toBe(500);
    expect(res.text).toContain('500 Internal Server Error');
    const stackLine = await daemon.waitForLog(
      (e) =>
        e.msg === 'cgi stderr' && typeof e.line === 'string' && e.line.includes('Error: template exploded'),
      5000,
      since,
    );
    expect(stackLine.script).toMatch(/throw\.js$/);
    await daemon.waitForLog(
      (e) => e.msg === 'cgi stderr' && typeof e.line === 'string' && /at render .*throw\.js:4/.test(e.line),
      5000,
      since,
    );
    const line = await waitForRequestLog(daemon, 'throw.js', since);
    expect(line.status).toBe(500);
    await expectRecovered(line.pid);
  });

  it('process.exit(3) before any header is a 502 "no cgi headers" with exit code 3, then a 200', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/node/exit-early.js');
    expect(res.status).toBe(502);
    const event = await waitForEvent(daemon, 'no cgi headers', since);
    expect(event.exitCode).toBe(3);
    await daemon.waitForLog((e) => e.msg === 'cgi stderr' && e.line === 'giving up early', 5000, since);
    const line = await waitForRequestLog(daemon, 'exit-early.js', since);
    expect(line.status).toBe(502);
    await expectRecovered(line.pid);
  });

  it('a never-ending setInterval is a 504 after request_terminate_timeout, then a 200', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const started = Date.now();
    const res = await stack().request('/node/forever.js', { timeoutMs: 20_000 });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 3000);
    await waitForEvent(daemon, 'request timeout', since);
    const line = await waitForRequestLog(daemon, 'forever.js', since);
    expect(line.status).toBe(504);
    await expectRecovered(line.pid);
    // The interval was cleared with the request: it ticked while the request ran, not after.
    const ticks = join(stack().root, 'node', 'forever.ticks');
    const ticked = (await readFile(ticks, 'utf8')).length;
    expect(ticked).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await readFile(ticks, 'utf8')).length).toBe(ticked);
  });
});
