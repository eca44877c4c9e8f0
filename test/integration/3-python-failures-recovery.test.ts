// This file implements issue 3's failure checks for the python runtime from the perspective of
// an HTTP client behind nginx: a python child that dies mid-request (`os._exit`) costs only
// that request (502), a script that never ends costs only that request (504 at
// request_terminate_timeout), and the same worker serves the next request with a new python
// child each time; a worker killed mid-request takes its python child with it.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { fields, pythonPools } from './3-python-pools.ts';
import { waitForEvent, waitForRequestLog } from './helpers/logs.ts';
import { childPids, waitForProcessesGone } from './helpers/processes.ts';
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
    await waitForProcessesGone([Number(before)], Number(before), 5000);
    const after = await pythonPid();
    expect(after).not.toBe(before);
    expect(childPids(daemon.pid)).toEqual([worker]);
  });
});

describe('python runtime: a worker killed mid-request', () => {
  it('takes its python child with it (no orphan running the script), and is replaced', async () => {
    const { daemon } = stack();
    const worker = await theWorker();
    await pythonPid();
    const python = await waitUntil('the python child', () => childPids(worker)[0], 5000);
    const since = daemon.logs.length;
    const response = stack().request('/py/forever.py?orphan', { timeoutMs: 15_000 });
    await sleep(1000); // the request reached the worker and its python child
    process.kill(worker, 'SIGKILL');
    expect((await response).status).toBe(502);
    await waitForEvent(daemon, 'worker exited', since);
    await waitForProcessesGone([python], python, 5000);
    const replaced = await waitUntil(
      'a new worker',
      () => childPids(daemon.pid).find((p) => p !== worker),
      10_000,
    );
    expect(replaced).not.toBe(worker);
    expect((await stack().request('/py/hello.py')).status).toBe(200);
  });
});
