// This file implements "drain pools that were removed" (issue 4) from the perspective of HTTP
// clients behind nginx that keep asking for a pool's scripts while reloads remove that pool and
// bring it back (SIGHUP, eight times, each once the load has had more requests answered): requests running or queued in the removed pool finish
// there, requests still being routed when it goes are routed again under the new config (the
// pool beside it, whose root also holds the scripts, takes them), and not one request fails or
// is left without an answer.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TomlDocument } from './helpers/config-file.ts';
import { writeConfigFile } from './helpers/config-file.ts';
import { CONTROL_GLOBAL, controlSocketIn, daemonStatus } from './helpers/control.ts';
import { expect200, LoadProgress, runLoad } from './helpers/load.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

const RELOADS = 8;
/** Requests answered right before the first reload, between two reloads, and after the last. */
const ANSWERED_BETWEEN = 6;

/** Pool `side` (one worker, so requests queue in it) first, when present; `main` always. */
function poolsOf(paths: StackPaths, side: boolean): TomlDocument {
  const main = defaultPool(paths.root, paths.fastcgiSocket);
  if (!side) return { main };
  return {
    side: { ...defaultPool(join(paths.root, 'side'), paths.fastcgiSocket), pm: { max_children: 1 } },
    main,
  };
}

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async (paths) => {
    await writeScript(paths.root, 'side/echo.sh', echoQueryScript());
    return poolsOf(paths, true);
  },
});

describe('reloads that remove a pool and add it back, under load on its scripts', () => {
  it('answer every request 200 with its own body', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const progress = new LoadProgress();
    const reloads = { done: false };
    const reloading = (async () => {
      await progress.more(ANSWERED_BETWEEN, 'before reload 1');
      for (let n = 0; n < RELOADS; n++) {
        // Even reloads remove pool "side", odd ones add it back.
        await writeConfigFile(s.daemon.configFile, {
          global: { log_level: 'info', ...CONTROL_GLOBAL },
          pools: poolsOf(s, n % 2 === 1),
        });
        const from = s.daemon.logs.length;
        process.kill(s.daemon.pid, 'SIGHUP');
        const done = await s.daemon.waitForLog(
          (e) => e.msg === 'reloaded' || e.msg === 'reload refused, keeping the running config',
          EVENT_TIMEOUT_MS,
          from,
        );
        expect(done.msg).toBe('reloaded');
        await progress.more(ANSWERED_BETWEEN, `after reload ${n + 1}`);
      }
    })().finally(() => {
      reloads.done = true;
    });
    const load = runLoad({
      clients: 6,
      durationMs: 120_000,
      more: () => !reloads.done,
      send: (c, i) => s.request(`/side/echo.sh?s${c}-${i}`),
      check: progress.counting((response, c, i) => expect200(response, echoed(`s${c}-${i}`))),
    });
    const [result] = await Promise.all([load, reloading]);
    expect(result.failures).toEqual([]);
    expect(result.ok).toBeGreaterThanOrEqual(ANSWERED_BETWEEN * (RELOADS + 1));
    const status = await daemonStatus(controlSocketIn(s.dir));
    expect(status.reloads).toBe(RELOADS);
    // The last reload added it back.
    expect(status.pools.map((p) => p.name).sort()).toEqual(['main', 'side']);
    const logs = s.daemon.logs.slice(since);
    expect(logs.filter((e) => e.msg === 'request' && e.status !== 200)).toEqual([]);
  });
});
