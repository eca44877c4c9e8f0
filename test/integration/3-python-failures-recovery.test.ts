// This file implements issue 3's failure checks for the python runtime from the perspective of
// an HTTP client behind nginx: a python child that dies mid-request (`os._exit`) costs only
// that request (502), a script that never ends costs only that request (504 at
// request_terminate_timeout), and the same worker serves the next request with a new python
// child each time.
import { describe, expect, it } from 'vitest';
import { fields, pythonPools } from './3-python-pools.ts';
import { waitForEvent, waitForRequestLog } from './helpers/logs.ts';
import { childPids } from './helpers/processes.ts';
import { useStack } from './helpers/use-stack.ts';
import { waitUntil } from './helpers/wait.ts';

const TIMEOUT_MS = 2000;

const stack = useStack({
  pools: pythonPools({ py: { request_terminate_timeout: `${TIMEOUT_MS / 1000}s` } }),
});

/** The pid of the python child that serves `/py/hello.py` now. */
async function pythonPid(): Promise<string> {
  const res = await stack().request('/py/hello.py');
  expect(res.status).toBe(200);
  const pid = fields(res.text).pid;
  if (pid === undefined) throw new Error(`no pid in ${res.text}`);
  return pid;
}

/** The pool's one worker, once it is there. */
function theWorker(): Promise<number> {
  const { daemon } = stack();
  return waitUntil('one worker', () => childPids(daemon.pid)[0], 10_000);
}

describe('python runtime failures behind nginx', () => {
  it('os._exit before any output is a 502; the same worker answers the next request with a new python', async () => {
    const { daemon } = stack();
    const worker = await theWorker();
    const before = await pythonPid();
    const since = daemon.logs.length;
    const res = await stack().request('/py/hard_exit.py');
    expect(res.status).toBe(502);
    expect(await waitForEvent(daemon, 'no cgi headers', since)).toMatchObject({ exitCode: 1 });
    expect(await waitForRequestLog(daemon, 'hard_exit.py', since)).toMatchObject({ status: 502 });
    const after = await pythonPid();
    expect(after).not.toBe(before);
    expect(childPids(daemon.pid)).toEqual([worker]);
    expect(daemon.logs.slice(since).some((e) => e.msg === 'worker exited')).toBe(false);
  });

  it('a script that never ends is a 504 at request_terminate_timeout; the next request is a 200', async () => {
    const { daemon } = stack();
    const worker = await theWorker();
    const before = await pythonPid();
    const since = daemon.logs.length;
    const started = Date.now();
    const res = await stack().request('/py/forever.py', { timeoutMs: 20_000 });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 5000);
    await waitForEvent(daemon, 'request timeout', since);
    // The python child running it was killed (SIGKILL to its group) and replaced.
    await waitUntil('old python gone', () => !isAlive(Number(before)), 5000);
    const after = await pythonPid();
    expect(after).not.toBe(before);
    expect(childPids(daemon.pid)).toEqual([worker]);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
