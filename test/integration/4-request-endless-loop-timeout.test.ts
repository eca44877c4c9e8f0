// This file implements request_terminate_timeout (issue 4) from the perspective of an HTTP
// client behind nginx whose script never ends, burning CPU in an endless loop: it gets a 504
// within the timeout + 1 s, the loop is killed (an exec script's whole process group; a `node`
// script's worker, blocked in the loop, is killed by the supervisor and replaced by a new
// process), a "request timeout" line names the script, and the pool's other requests are
// answered 200 meanwhile.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { expect200, runLoad } from './helpers/load.ts';
import { isForScript } from './helpers/logs.ts';
import { childPids, isProcessAlive, waitForProcessesGone } from './helpers/processes.ts';
import { echoed, echoQueryScript, SPIN_SCRIPT, writeScript } from './helpers/scripts.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { waitUntil } from './helpers/wait.ts';

const TIMEOUT_MS = 2000;
/**
 * The node runtime cannot answer while its event loop spins: the supervisor's backstop kills
 * the worker at timeout + 1 s (worker-handle.ts TERMINATE_MARGIN_MS), so the 504 leaves a
 * little after that; this is the scheduling slack allowed on top, for a 2-core CI machine.
 */
const NODE_KILL_SLACK_MS = 750;

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ root, fastcgiSocket }) => {
    await writeScript(root, 'spin.sh', SPIN_SCRIPT);
    await writeScript(root, 'echo.sh', echoQueryScript());
    const nodeRoot = join(root, 'node');
    await writeScript(nodeRoot, 'package.json', '{ "type": "commonjs" }\n');
    await writeScript(
      nodeRoot,
      'spin.js',
      '// Written by the test: a synchronous endless loop.\nfor (;;) {}\n',
    );
    await writeScript(
      nodeRoot,
      'echo.js',
      '// Written by the test: answers its query string.\nprocess.stdout.write(`Content-Type: text/plain\\r\\n\\r\\n${process.env.QUERY_STRING}\\n`);\n',
    );
    const limits = { pm: { max_children: 2 }, request_terminate_timeout: `${TIMEOUT_MS}ms` };
    return {
      // First: the first pool whose root holds the script takes it.
      node: { ...defaultPool(nodeRoot, fastcgiSocket), runtime: 'node', match: ['*.js'], ...limits },
      main: { ...defaultPool(root, fastcgiSocket), ...limits },
    };
  },
});

/** The command line of `pid` (arguments joined by spaces), or '' when it is gone. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Runs `path` and, meanwhile, a client looping on `other` (every answer must be right). */
async function spinWithTraffic(path: string, other: string) {
  const s = stack();
  let spinning = true;
  const started = Date.now();
  const spin = s
    .request(path, { timeoutMs: 15_000 })
    .then((response) => ({ response, elapsed: Date.now() - started }));
  const traffic = runLoad({
    clients: 1,
    durationMs: 15_000,
    more: () => spinning,
    send: (_c, i) => s.request(`${other}?other-${i}`, { timeoutMs: 5000 }),
    check: (response, _c, i) => expect200(response, echoed(`other-${i}`)),
  });
  const done = await spin.finally(() => {
    spinning = false;
  });
  return { ...done, traffic: await traffic };
}

describe('an endless loop script with request_terminate_timeout = 2s', () => {
  it('exec (`while true; do :; done`): 504 within timeout + 1 s, its process group killed, other requests fine', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const workersBefore = childPids(s.daemon.pid);
    // Find the spinning shell while it runs: a child of a worker running spin.sh.
    const found = waitUntil(
      'spin.sh running',
      () => workersBefore.flatMap((w) => childPids(w)).find((pid) => commandLine(pid).includes('spin.sh')),
      TIMEOUT_MS,
      10,
    );
    const { response, elapsed, traffic } = await spinWithTraffic('/spin.sh', '/echo.sh');
    const spinner = await found;
    expect(response.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1000);
    expect(traffic.failures).toEqual([]);
    expect(traffic.ok).toBeGreaterThan(3);
    await waitForProcessesGone([spinner], spinner, 1000);
    const line = await s.daemon.waitForLog(
      (e) => e.msg === 'request timeout' && isForScript(e, 'spin.sh'),
      2000,
      since,
    );
    expect(line.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    // The pool is whole again and serves.
    const pool = await poolStatus(controlSocketIn(s.dir), 'main');
    expect(pool.idle + pool.busy).toBe(2);
    expect((await s.request('/echo.sh?after')).text).toBe(echoed('after'));
  });

  it('node (`for (;;) {}`): 504 within timeout + 1 s, the blocked worker killed and replaced, other requests fine', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const since = s.daemon.logs.length;
    const restartsBefore = (await poolStatus(control, 'node')).restarts;
    const workersBefore = childPids(s.daemon.pid);
    const { response, elapsed, traffic } = await spinWithTraffic('/node/spin.js', '/node/echo.js');
    expect(response.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(elapsed, `504 after ${elapsed} ms`).toBeLessThan(TIMEOUT_MS + 1000 + NODE_KILL_SLACK_MS);
    expect(traffic.failures).toEqual([]);
    expect(traffic.ok).toBeGreaterThan(3);
    const line = await s.daemon.waitForLog(
      (e) => e.msg === 'request timeout' && isForScript(e, 'spin.js'),
      2000,
      since,
    );
    const killed = line.workerPid;
    if (typeof killed !== 'number') throw new Error(`no workerPid in ${JSON.stringify(line)}`);
    expect(workersBefore).toContain(killed);
    expect(isProcessAlive(killed)).toBe(false);
    // Replaced: a new worker process, and the pool back to 2 ready workers.
    await waitUntil(
      'node pool back to 2 ready workers',
      async () => {
        const pool = await poolStatus(control, 'node');
        return pool.idle + pool.busy === 2 && pool.spawning === 0;
      },
      5000,
      20,
    );
    const workersAfter = childPids(s.daemon.pid);
    expect(workersAfter).not.toContain(killed);
    expect(workersAfter.filter((p) => !workersBefore.includes(p))).toHaveLength(1);
    expect((await poolStatus(control, 'node')).restarts).toBe(restartsBefore + 1);
    expect((await s.request('/node/echo.js?after')).text).toBe(echoed('after'));
  });
});
