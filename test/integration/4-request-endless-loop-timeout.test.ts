// This file implements request_terminate_timeout (issue 4) from the perspective of an HTTP
// client behind nginx whose script never ends, burning CPU in an endless loop: it gets the
// daemon's 504 (not before the timeout), the loop is killed (an exec script's whole process
// group; a `node` script's worker, blocked in the loop, is killed by the supervisor and replaced
// by a new process), a "request timeout" line names the script, and the pool's other requests
// are answered 200 meanwhile.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { expect200, runLoad } from './helpers/load.ts';
import { expectTimeout504 } from './helpers/logs.ts';
import { childPids, isProcessAlive, waitForProcessesGone } from './helpers/processes.ts';
import { echoed, echoQueryScript, SPIN_SCRIPT, writeScript } from './helpers/scripts.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const TIMEOUT_MS = 2000;

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
      [
        '// Written by the test: says which worker runs it, then a synchronous endless loop.',
        "require('node:fs').writeFileSync(__filename + '.pid', String(process.pid));",
        'for (;;) {}',
        '',
      ].join('\n'),
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

/** The pid a spinning script wrote to `<file>.pid` once it runs. */
function spinnerPid(file: string): Promise<number> {
  return waitUntil(
    `${file}.pid written`,
    async () => {
      const pid = Number((await readFile(`${file}.pid`, 'utf8').catch(() => '')).trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    },
    EVENT_TIMEOUT_MS,
    10,
  );
}

/**
 * Runs `path` and, meanwhile, a client looping on `other` (every answer must be right); counts
 * the other answers that came before the spinning request's.
 */
async function spinWithTraffic(path: string, other: string) {
  const s = stack();
  let spinning = true;
  let answeredMeanwhile = 0;
  const started = Date.now();
  const spin = s.request(path).then((response) => ({ response, elapsed: Date.now() - started }));
  const traffic = runLoad({
    clients: 1,
    durationMs: 60_000,
    more: () => spinning,
    send: (_c, i) => s.request(`${other}?other-${i}`),
    check: (response, _c, i) => {
      const wrong = expect200(response, echoed(`other-${i}`));
      if (wrong === undefined && spinning) answeredMeanwhile += 1;
      return wrong;
    },
  });
  const done = await spin.finally(() => {
    spinning = false;
  });
  return { ...done, traffic: await traffic, answeredMeanwhile };
}

describe('an endless loop script with request_terminate_timeout = 2s', () => {
  it('exec (`while true; do :; done`): the 504 of the timeout, its process group killed, other requests fine', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const workersBefore = childPids(s.daemon.pid);
    const found = spinnerPid(join(s.root, 'spin.sh'));
    const { response, elapsed, traffic, answeredMeanwhile } = await spinWithTraffic('/spin.sh', '/echo.sh');
    const spinner = await found;
    expect(response.status).toBe(504);
    // Not before the timeout (the daemon's own timer), and because of it: the daemon's page
    // and its "request timeout" line for this script.
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    const line = await expectTimeout504(s.daemon, response, 'spin.sh', since, TIMEOUT_MS);
    // The spinning shell ran in a worker of the pool, and its whole group is gone.
    expect(workersBefore).toContain(line.pid);
    await waitForProcessesGone([spinner], spinner, EVENT_TIMEOUT_MS);
    expect(traffic.failures).toEqual([]);
    expect(answeredMeanwhile).toBeGreaterThanOrEqual(1);
    // The pool is whole again and serves.
    const pool = await poolStatus(controlSocketIn(s.dir), 'main');
    expect(pool.idle + pool.busy).toBe(2);
    expect((await s.request('/echo.sh?after')).text).toBe(echoed('after'));
  });

  it('node (`for (;;) {}`): the 504 of the timeout, the blocked worker killed and replaced, other requests fine', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const since = s.daemon.logs.length;
    const restartsBefore = (await poolStatus(control, 'node')).restarts;
    const workersBefore = childPids(s.daemon.pid);
    const found = spinnerPid(join(s.root, 'node', 'spin.js'));
    const { response, elapsed, traffic, answeredMeanwhile } = await spinWithTraffic(
      '/node/spin.js',
      '/node/echo.js',
    );
    expect(response.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(traffic.failures).toEqual([]);
    expect(answeredMeanwhile).toBeGreaterThanOrEqual(1);
    // The supervisor's line: the worker could not answer, so the supervisor killed it.
    const line = await expectTimeout504(s.daemon, response, 'spin.js', since, TIMEOUT_MS);
    const killed = line.workerPid;
    if (typeof killed !== 'number') throw new Error(`no workerPid in ${JSON.stringify(line)}`);
    expect(killed).toBe(await found);
    expect(workersBefore).toContain(killed);
    await waitUntil('the blocked worker gone', () => !isProcessAlive(killed), EVENT_TIMEOUT_MS);
    // Replaced: a new worker process, and the pool back to 2 ready workers.
    await waitUntil(
      'node pool back to 2 ready workers',
      async () => {
        const pool = await poolStatus(control, 'node');
        return pool.idle + pool.busy === 2 && pool.spawning === 0;
      },
      EVENT_TIMEOUT_MS,
      20,
    );
    const workersAfter = childPids(s.daemon.pid);
    expect(workersAfter).not.toContain(killed);
    expect(workersAfter.filter((p) => !workersBefore.includes(p))).toHaveLength(1);
    expect((await poolStatus(control, 'node')).restarts).toBe(restartsBefore + 1);
    expect((await s.request('/node/echo.js?after')).text).toBe(echoed('after'));
  });
});
