// This file implements issue 3's failure checks for `runtime = "node"` from the perspective of
// an HTTP client behind nginx: an uncaught exception is a 500 with the stack in the log,
// `process.exit(3)` before any header is a 502 ("no cgi headers", exit code 3), a script that
// never ends is a 504 after request_terminate_timeout (its interval cleared) — and each time
// the same worker serves the next request with a 200.
import { describe, expect, it } from 'vitest';
import { nodeStack } from './3-node-stack.ts';
import { expectTimeout504, waitForEvent, waitForRequestLog } from './helpers/logs.ts';
import { writeScript } from './helpers/scripts.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

const TIMEOUT_MS = 2000;

/**
 * Answers the size of forever.ticks now and after a 200 ms timer. It runs in the worker that
 * ran forever.js, on the same event loop: a 50 ms interval still alive there would be due
 * before this timer and tick first, however loaded the machine.
 */
const TICKS_CHECK_JS = [
  "// Written by the test: forever.ticks' size, now and after a 200 ms timer.",
  "const fs = require('node:fs');",
  "const path = require('node:path');",
  "const size = () => fs.statSync(path.join(__dirname, 'forever.ticks')).size;",
  'const before = size();',
  'setTimeout(() => {',
  "  process.stdout.write('Content-Type: text/plain\\r\\n\\r\\n' + before + ' ' + size() + '\\n');",
  '}, 200);',
  '',
].join('\n');

const options = nodeStack([{ name: 'node', keys: { request_terminate_timeout: `${TIMEOUT_MS / 1000}s` } }]);
const stack = useStack({
  ...options,
  pools: async (paths) => {
    const pools = await options.pools?.(paths);
    await writeScript(paths.root, 'node/ticks-check.js', TICKS_CHECK_JS);
    return pools ?? {};
  },
});

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
      EVENT_TIMEOUT_MS,
      since,
    );
    expect(stackLine.script).toMatch(/throw\.js$/);
    await daemon.waitForLog(
      (e) => e.msg === 'cgi stderr' && typeof e.line === 'string' && /at render .*throw\.js:4/.test(e.line),
      EVENT_TIMEOUT_MS,
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
    await daemon.waitForLog(
      (e) => e.msg === 'cgi stderr' && e.line === 'giving up early',
      EVENT_TIMEOUT_MS,
      since,
    );
    const line = await waitForRequestLog(daemon, 'exit-early.js', since);
    expect(line.status).toBe(502);
    await expectRecovered(line.pid);
  });

  it('a never-ending setInterval is a 504 after request_terminate_timeout, then a 200', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const started = Date.now();
    const res = await stack().request('/node/forever.js');
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    // Not before the timeout (the daemon's own timer), and because of it: the daemon's page
    // and its "request timeout" line for this script.
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    await expectTimeout504(daemon, res, 'forever.js', since, TIMEOUT_MS);
    const line = await waitForRequestLog(daemon, 'forever.js', since);
    expect(line.status).toBe(504);
    await expectRecovered(line.pid);
    // The interval was cleared with the request: it ticked while the request ran, not after
    // (checked in the same worker, by a timer due after the interval's next tick).
    const checkFrom = daemon.logs.length;
    const check = await stack().request('/node/ticks-check.js');
    expect(check.status).toBe(200);
    const [before, after] = check.text.trim().split(' ').map(Number);
    expect(before).toBeGreaterThan(0);
    expect(after).toBe(before);
    expect((await waitForRequestLog(daemon, 'ticks-check.js', checkFrom)).pid).toBe(line.pid);
  });
});
