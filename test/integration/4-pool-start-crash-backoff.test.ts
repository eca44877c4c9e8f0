// This file implements the crash backoff (issue 4) from the perspective of an operator whose
// pool cannot start a worker (`runtime = "python"` with a python.executable that does not
// exist): `cgi-fpm status` shows the pool backing off with a growing delay and the cause, the
// supervisor stays near idle instead of re-forking in a loop, clients of the pool get 503 with
// Retry-After (and the healthy pool beside it keeps serving), and once the operator fixes the
// config and runs `cgi-fpm reload` the pool serves 200 with its backoff cleared.
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { TomlDocument } from './helpers/config-file.ts';
import { writeConfigFile } from './helpers/config-file.ts';
import {
  CONTROL_GLOBAL,
  cliReload,
  cliStatus,
  controlSocketIn,
  poolOf,
  poolStatus,
  type PoolStatus,
} from './helpers/control.ts';
import { cpuSeconds } from './helpers/cpu.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const MISSING_PYTHON = '/nonexistent/python3';
const HELLO_PY =
  '# Written by the test.\nprint("Content-Type: text/plain")\nprint()\nprint("hello from python")\n';
/**
 * CPU window, and the most of one core the supervisor may use in it. Not a speed bound: a
 * loaded machine stretches the window and gives the supervisor less CPU, so the share only
 * falls; a fork loop or a timer storm would use most of a core.
 */
const CPU_WINDOW_MS = 3000;
const CPU_MAX_SHARE = 0.1;
/** The shortest delay between two start attempts while backing off (backoff.ts BACKOFF_MIN_MS). */
const BACKOFF_MIN_MS = 1000;

function poolsOf({ root, fastcgiSocket }: StackPaths, python: string | undefined): TomlDocument {
  const py = {
    ...defaultPool(join(root, 'py'), fastcgiSocket),
    runtime: 'python',
    pm: { max_children: 2 },
    ...(python === undefined ? {} : { 'python.executable': python }),
  };
  return { py, main: defaultPool(root, fastcgiSocket) };
}

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async (paths) => {
    await writeScript(paths.root, 'py/hello.py', HELLO_PY);
    await writeScript(paths.root, 'echo.sh', echoQueryScript());
    return poolsOf(paths, MISSING_PYTHON);
  },
});

describe('a python pool whose interpreter does not exist', () => {
  it('backs off visibly and cheaply, answers 503, and recovers after the fix and a reload', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);

    const lookedFrom = Date.now();
    const entered = await waitUntil(
      'pool py backing off',
      async () => {
        const pool = await poolStatus(control, 'py');
        return pool.backoff.state === 'backing-off' ? pool : undefined;
      },
      EVENT_TIMEOUT_MS,
      20,
    );
    expect(entered.backoff.lastFailure).toContain(MISSING_PYTHON);
    expect(entered.backoff.delayMs).toBeGreaterThanOrEqual(800);
    expect(entered.idle + entered.busy).toBe(0);
    await s.daemon.waitForLog((e) => e.msg === 'pool backing off' && e.pool === 'py');
    // The supervisor's line (the worker logs one too, with `err`) names the cause.
    const cause = await s.daemon.waitForLog(
      (e) => e.msg === 'worker failed to start' && e.pool === 'py' && e.cause !== undefined,
    );
    expect(String(cause.cause)).toContain(MISSING_PYTHON);

    // Over 3 s: sample the backoff, measure the supervisor's CPU, and ask the pool.
    const samples: PoolStatus[] = [];
    const cpuBefore = cpuSeconds(s.daemon.pid);
    const windowStart = Date.now();
    const refused = await s.request('/py/hello.py');
    while (Date.now() - windowStart < CPU_WINDOW_MS) {
      samples.push(await poolStatus(control, 'py'));
      await delay(200);
    }
    const cpu = cpuSeconds(s.daemon.pid) - cpuBefore;
    const windowMs = Date.now() - windowStart;
    expect(
      cpu / (windowMs / 1000),
      `supervisor used ${cpu.toFixed(2)} s of CPU in ${(windowMs / 1000).toFixed(1)} s`,
    ).toBeLessThan(CPU_MAX_SHARE);
    // No fork loop: while backing off, start attempts are at least BACKOFF_MIN_MS apart (the
    // daemon's own timer; a bound sound on any machine, and one a loop would blow past).
    const attempts = (samples.at(-1)?.backoff.failures ?? Infinity) - entered.backoff.failures;
    const sinceMs = Date.now() - lookedFrom;
    expect(attempts, `${attempts} start attempts in ${sinceMs} ms`).toBeLessThanOrEqual(
      1 + Math.floor(sinceMs / BACKOFF_MIN_MS),
    );

    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    // The healthy pool beside it is not affected.
    expect((await s.request('/echo.sh?beside')).text).toBe(echoed('beside'));

    // Backing off all along, the delay growing with the failures (1 s, 2 s, 4 s … ± 20 %). On a
    // slow machine the window may have held one step only: watch (bounded) for the next one.
    const failuresSeen = (): number => new Set(samples.map((p) => p.backoff.failures)).size;
    await waitUntil(
      'one more backoff step',
      async () => {
        samples.push(await poolStatus(control, 'py'));
        return failuresSeen() >= 2;
      },
      EVENT_TIMEOUT_MS,
      200,
    );
    expect(samples.every((p) => p.backoff.state === 'backing-off')).toBe(true);
    const delayByFailures = new Map(samples.map((p) => [p.backoff.failures, p.backoff.delayMs]));
    const steps = [...delayByFailures].sort(([a], [b]) => a - b);
    expect(steps.length, `backoff steps seen: ${JSON.stringify(steps)}`).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < steps.length; i++) expect(steps[i]![1]).toBeGreaterThan(steps[i - 1]![1]);

    // The operator's view: `cgi-fpm status --json`.
    const seen = poolOf(await cliStatus(s.daemon.configFile, s.dir), 'py');
    expect(seen.backoff).toMatchObject({ state: 'backing-off' });
    expect(seen.backoff.lastFailure).toContain(MISSING_PYTHON);

    // Fix: the default interpreter, then `cgi-fpm reload`.
    await writeConfigFile(s.daemon.configFile, {
      global: { log_level: 'info', ...CONTROL_GLOBAL },
      pools: poolsOf(s, undefined),
    });
    const reload = await cliReload(s.daemon.configFile, s.dir);
    expect({ code: reload.code, stdout: reload.stdout, stderr: reload.stderr }).toEqual({
      code: 0,
      stdout: 'reloaded\n',
      stderr: '',
    });
    const served = await s.request('/py/hello.py');
    expect([served.status, served.text]).toEqual([200, 'hello from python\n']);
    const after = poolOf(await cliStatus(s.daemon.configFile, s.dir), 'py');
    expect(after.backoff).toEqual({ state: 'none', delayMs: 0, failures: 0 });
    expect(after.idle + after.busy).toBe(2);
  });
});
