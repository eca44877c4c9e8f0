// This file implements "reload without loss" (issue 4) from the perspective of HTTP clients
// behind a real nginx that keep sending requests while the operator reloads the daemon ten
// times (SIGHUP and `cgi-fpm reload`, each once the load has had a few more requests answered):
// one reload raises pm.max_children
// (the pool restarts: new workers take over, old ones finish their request), one adds a pool on
// the same listener, the rest change nothing. Not one request may fail: every answer is a 200
// with the body of its own request, and the new pool then serves its scripts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TomlDocument } from './helpers/config-file.ts';
import { writeConfigFile } from './helpers/config-file.ts';
import { CONTROL_GLOBAL, cliReload, controlSocketIn, daemonStatus, poolOf } from './helpers/control.ts';
import { expect200, LoadProgress, runLoad } from './helpers/load.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

/** What one config generation looks like. */
interface Generation {
  readonly mainChildren: number;
  /** Pool `extra` (root `<root>/extra`, same listener) exists. */
  readonly extra: boolean;
}

function poolsOf(paths: StackPaths, g: Generation): TomlDocument {
  const mainPool = { ...defaultPool(paths.root, paths.fastcgiSocket), pm: { max_children: g.mainChildren } };
  if (!g.extra) return { main: mainPool };
  // Listed first: the first pool (in config order) whose root holds the script takes it.
  const extra = { ...defaultPool(join(paths.root, 'extra'), paths.fastcgiSocket), pm: { max_children: 2 } };
  return { extra, main: mainPool };
}

const START: Generation = { mainChildren: 2, extra: false };

/** The ten reloads: how, and the config each one applies. */
const RELOADS: readonly {
  readonly via: 'SIGHUP' | 'cli';
  readonly change: Partial<Generation>;
  readonly what: string;
}[] = [
  { via: 'SIGHUP', change: {}, what: 'nothing changed' },
  { via: 'cli', change: { mainChildren: 3 }, what: 'main pm.max_children 2 -> 3 (pool restarted)' },
  { via: 'SIGHUP', change: {}, what: 'nothing changed' },
  { via: 'SIGHUP', change: {}, what: 'nothing changed' },
  { via: 'SIGHUP', change: { extra: true }, what: 'pool extra added' },
  { via: 'SIGHUP', change: {}, what: 'nothing changed' },
  { via: 'cli', change: {}, what: 'nothing changed' },
  { via: 'SIGHUP', change: {}, what: 'nothing changed' },
  { via: 'SIGHUP', change: {}, what: 'nothing changed' },
  { via: 'SIGHUP', change: {}, what: 'nothing changed' },
];

/** Requests answered right before the first reload, between two reloads, and after the last. */
const ANSWERED_BETWEEN = 4;

const stack = useStack({
  keepAlive: true,
  global: CONTROL_GLOBAL,
  pools: async (paths) => {
    await writeScript(paths.root, 'echo.sh', echoQueryScript(0.05));
    await writeScript(paths.root, 'extra/echo.sh', echoQueryScript(0.05));
    return poolsOf(paths, START);
  },
});

/** Applies reload `n` (0-based) and resolves once the daemon says it is done. */
async function reload(n: number, generation: Generation): Promise<void> {
  const s = stack();
  const step = RELOADS[n];
  if (step === undefined) throw new Error(`no reload ${n}`);
  await writeConfigFile(s.daemon.configFile, {
    global: { log_level: 'info', ...CONTROL_GLOBAL },
    pools: poolsOf(s, generation),
  });
  if (step.via === 'cli') {
    const result = await cliReload(s.daemon.configFile, s.dir);
    expect({ reload: n + 1, code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      reload: n + 1,
      code: 0,
      stdout: 'reloaded\n',
      stderr: '',
    });
    return;
  }
  const since = s.daemon.logs.length;
  process.kill(s.daemon.pid, 'SIGHUP');
  const done = await s.daemon.waitForLog(
    (e) => e.msg === 'reloaded' || e.msg === 'reload refused, keeping the running config',
    EVENT_TIMEOUT_MS,
    since,
  );
  expect({ reload: n + 1, msg: done.msg }).toEqual({ reload: n + 1, msg: 'reloaded' });
}

describe('10 reloads under continuous load through nginx', () => {
  it('fails not one request, then serves the new pool and the new limits', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const progress = new LoadProgress();
    let loading = true;
    // Each reload once the load has had more requests answered since the one before, and the
    // load on until it has had some after the last one too.
    const reloads = (async () => {
      let generation = START;
      await progress.more(ANSWERED_BETWEEN, 'before reload 1');
      for (let n = 0; n < RELOADS.length; n++) {
        generation = { ...generation, ...RELOADS[n]?.change };
        await reload(n, generation);
        await progress.more(ANSWERED_BETWEEN, `after reload ${n + 1}`);
      }
      // The odd clients' requests reach the added pool.
      await waitUntil(
        'pool extra serving the load',
        async () => poolOf(await daemonStatus(controlSocketIn(s.dir)), 'extra').accepted > 0,
        EVENT_TIMEOUT_MS,
      );
    })().finally(() => {
      loading = false;
    });
    // 4 clients; odd ones ask for /extra/echo.sh (main's until pool extra exists, extra's after).
    const load = runLoad({
      clients: 4,
      durationMs: 120_000,
      more: () => loading,
      send: (c, i) => s.request(`${c % 2 === 1 ? '/extra' : ''}/echo.sh?c${c}-${i}`),
      check: progress.counting((response, c, i) => expect200(response, echoed(`c${c}-${i}`))),
    });
    const [result] = await Promise.all([load, reloads]);
    expect(result.failures).toEqual([]);
    expect(result.ok).toBeGreaterThanOrEqual(ANSWERED_BETWEEN * (RELOADS.length + 1));

    const status = await daemonStatus(controlSocketIn(s.dir));
    expect(status.reloads).toBe(RELOADS.length);
    const limits = status.pools
      .map((p) => [p.name, p.maxChildren])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(limits).toEqual([
      ['extra', 2],
      ['main', 3],
    ]);
    expect(poolOf(status, 'extra').accepted).toBeGreaterThan(0);
    // The added pool answers its own scripts (the "request" log line names the pool).
    const after = s.daemon.logs.length;
    const res = await s.request('/extra/echo.sh?after');
    expect(res.status).toBe(200);
    expect(res.text).toBe(echoed('after'));
    const line = await s.daemon.waitForLog(
      (e) => e.msg === 'request' && e.pool === 'extra',
      EVENT_TIMEOUT_MS,
      after,
    );
    expect(line.status).toBe(200);
    // Ten "reloaded" lines, no refusal, and no request answered by the daemon with an error.
    const logs = s.daemon.logs.slice(since);
    expect(logs.filter((e) => e.msg === 'reloaded')).toHaveLength(RELOADS.length);
    expect(logs.filter((e) => e.msg === 'request' && e.status !== 200)).toEqual([]);
  });
});
