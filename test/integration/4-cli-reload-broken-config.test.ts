// This file implements a refused reload (issue 4) from the perspective of an operator who saved
// a broken config and runs `cgi-fpm reload` (or sends SIGHUP): the command exits non-zero and
// prints every problem, the daemon logs "reload refused, keeping the running config" with them,
// and keeps serving with the old config; once the file is fixed, the reload goes through.
import { describe, expect, it } from 'vitest';
import type { TomlDocument } from './helpers/config-file.ts';
import { writeConfigFile } from './helpers/config-file.ts';
import {
  CONTROL_GLOBAL,
  cliReload,
  cliStatus,
  controlSocketIn,
  daemonStatus,
  poolOf,
} from './helpers/control.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

const REFUSED = 'reload refused, keeping the running config';

function configOf(paths: StackPaths, main: TomlDocument): TomlDocument {
  return {
    global: { log_level: 'info', ...CONTROL_GLOBAL },
    pools: { main: { ...defaultPool(paths.root, paths.fastcgiSocket), ...main } },
  };
}

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async (paths) => {
    await writeScript(paths.root, 'echo.sh', echoQueryScript());
    return configOf(paths, {}).pools as TomlDocument;
  },
});

/** The old config still serves: 2 workers, a 200 with the right body. */
async function expectOldConfigServing(query: string): Promise<void> {
  const s = stack();
  const res = await s.request(`/echo.sh?${query}`);
  expect([res.status, res.text]).toEqual([200, echoed(query)]);
  const status = await daemonStatus(controlSocketIn(s.dir));
  expect(status.reloads).toBe(0);
  expect(poolOf(status, 'main').maxChildren).toBe(2);
}

describe('cgi-fpm reload with a broken config', () => {
  it('a pool with invalid keys: exit non-zero, every problem printed and logged, the old config serves', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    await writeConfigFile(s.daemon.configFile, configOf(s, { pm: { max_children: 0 }, 'queue.maxx': 3 }));
    const result = await cliReload(s.daemon.configFile, s.dir);
    // Non-zero: 78 (EX_CONFIG), as `cgi-fpm check` for the same file.
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('pm.max_children must be ≥ 1, got 0');
    expect(result.stderr).toContain('queue.maxx');
    const refused = await s.daemon.waitForLog((e) => e.msg === REFUSED, EVENT_TIMEOUT_MS, since);
    expect(JSON.stringify(refused.errors)).toContain('pm.max_children');
    expect(JSON.stringify(refused.errors)).toContain('queue.maxx');
    await expectOldConfigServing('after-cli');
  });

  it('invalid TOML, by SIGHUP and by the CLI: refused, the old config serves', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const good = configOf(s, {});
    await writeConfigFile(
      s.daemon.configFile,
      '[global]\ncontrol_socket = "control.sock"\n[pools.main\nlisten = \n',
    );
    process.kill(s.daemon.pid, 'SIGHUP');
    const refused = await s.daemon.waitForLog((e) => e.msg === REFUSED, EVENT_TIMEOUT_MS, since);
    expect(JSON.stringify(refused.errors)).toMatch(/invalid TOML/);
    await expectOldConfigServing('after-sighup');
    const result = await cliReload(s.daemon.configFile, s.dir);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/invalid TOML/);
    await expectOldConfigServing('after-cli-toml');

    // Fixed: the reload goes through and the status says so.
    await writeConfigFile(s.daemon.configFile, good);
    const fixed = await cliReload(s.daemon.configFile, s.dir);
    expect({ code: fixed.code, stdout: fixed.stdout, stderr: fixed.stderr }).toEqual({
      code: 0,
      stdout: 'reloaded\n',
      stderr: '',
    });
    const status = await cliStatus(s.daemon.configFile, s.dir);
    expect(status.reloads).toBe(1);
    expect((await s.request('/echo.sh?fixed')).text).toBe(echoed('fixed'));
  });
});
