// This file implements issue 3's failure checks for the python runtime from the perspective of
// an HTTP client behind nginx: a python child that dies mid-request (`os._exit`) costs only
// that request (502), a script that never ends costs only that request (504 at
// request_terminate_timeout), and the same worker serves the next request with a new python
// child each time; a worker killed mid-request takes its python child with it.
import { describe, expect, it } from 'vitest';
import { fields, pythonPools } from './3-python-pools.ts';
import { GateSlot } from './helpers/gate.ts';
import { expectTimeout504, waitForEvent, waitForRequestLog } from './helpers/logs.ts';
import { childPids, waitForProcessesGone } from './helpers/processes.ts';
import { writeScript } from './helpers/scripts.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const TIMEOUT_MS = 2000;

const gate = new GateSlot();

const pools = pythonPools({ py: { request_terminate_timeout: `${TIMEOUT_MS / 1000}s` } });
const stack = useStack({
  // "python started" (the worker's runner is up) is a debug line.
  global: { log_level: 'debug' },
  pools: async (paths) => {
    await gate.open(paths.dir);
    const config = await pools(paths);
    await writeScript(paths.root, 'py/hold.py', gate.get().pythonScript());
    return config;
  },
});

/** The pid of the python child that serves `/py/hello.py` now. */
async function pythonPid(): Promise<string> {
  const res = await stack().request('/py/hello.py');
  expect(res.status).toBe(200);
  const pid = fields(res.text).pid;
  if (pid === undefined) throw new Error(`no pid in ${res.text}`);
  return pid;
}

/**
 * Waits for the worker's replacement python child, logged at index `since` or later, to be up
 * ("python started"), and resolves with its pid. The next request then runs the script only:
 * a python start on a loaded machine can take longer than the pool's 2 s timeout.
 */
async function nextPython(since: number, before: string): Promise<string> {
  const started = await stack().daemon.waitForLog(
    (e) => e.msg === 'python started' && String(e.pythonPid) !== before,
    EVENT_TIMEOUT_MS,
    since,
  );
  return String(started.pythonPid);
}

/** The pool's one worker, once it is there. */
function theWorker(): Promise<number> {
  const { daemon } = stack();
  return waitUntil('one worker', () => childPids(daemon.pid)[0], EVENT_TIMEOUT_MS);
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
    const replacement = await nextPython(since, before);
    const after = await pythonPid();
    expect(after).not.toBe(before);
    expect(after).toBe(replacement);
    expect(childPids(daemon.pid)).toEqual([worker]);
    expect(daemon.logs.slice(since).some((e) => e.msg === 'worker exited')).toBe(false);
  });

  it('a script that never ends is a 504 at request_terminate_timeout; the next request is a 200', async () => {
    const { daemon } = stack();
    const worker = await theWorker();
    const before = await pythonPid();
    const since = daemon.logs.length;
    const started = Date.now();
    const res = await stack().request('/py/forever.py');
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    // Not before the timeout (the daemon's own timer), and because of it: the daemon's page
    // and its "request timeout" line for this script.
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    await expectTimeout504(daemon, res, 'forever.py', since, TIMEOUT_MS);
    // The python child running it was killed (SIGKILL to its group) and replaced.
    await waitForProcessesGone([Number(before)], Number(before), EVENT_TIMEOUT_MS);
    const replacement = await nextPython(since, before);
    const after = await pythonPid();
    expect(after).not.toBe(before);
    expect(after).toBe(replacement);
    expect(childPids(daemon.pid)).toEqual([worker]);
  });
});

describe('python runtime: a worker killed mid-request', () => {
  it('takes its python child with it (no orphan running the script), and is replaced', async () => {
    const { daemon } = stack();
    const worker = await theWorker();
    await pythonPid();
    const python = await waitUntil('the python child', () => childPids(worker)[0], EVENT_TIMEOUT_MS);
    const since = daemon.logs.length;
    try {
      const response = stack().request('/py/hold.py?orphan');
      // The request reached the worker and its python child, which runs the script now.
      expect(await gate.get().waitStarted('orphan')).toBe(python);
      process.kill(worker, 'SIGKILL');
      expect((await response).status).toBe(502);
      await waitForEvent(daemon, 'worker exited', since);
      await waitForProcessesGone([python], python, EVENT_TIMEOUT_MS);
    } finally {
      await gate.get().release('orphan');
    }
    const replaced = await waitUntil(
      'a new worker',
      () => childPids(daemon.pid).find((p) => p !== worker),
      EVENT_TIMEOUT_MS,
    );
    expect(replaced).not.toBe(worker);
    expect((await stack().request('/py/hello.py')).status).toBe(200);
  });
});
