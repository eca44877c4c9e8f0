// This file implements `systemctl reload` and `kill -QUIT` (issue 14, item 3) from the
// perspective of systemd running the shipped unit: its ExecReload command line (the binary path
// swapped for this checkout's) waits for the daemon's answer and exits 0 once the config is
// applied, 78 when the daemon refuses it (the old config keeps serving); `kill -USR2` still
// reloads; SIGQUIT, PHP-FPM's graceful stop, is logged, lets the request in flight finish, and
// leaves no socket file and no worker.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeConfigFile, type TomlDocument } from './helpers/config-file.ts';
import { CONTROL_GLOBAL } from './helpers/control.ts';
import { CLI_MAIN, REPO_ROOT } from './helpers/paths.ts';
import { childPids, waitForProcessesGone } from './helpers/processes.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { waitUntil } from './helpers/wait.ts';
import { defaultPool, startStack, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';

const INSTALLED_BIN = '/usr/local/bin/cgi-fpm';

/** A CGI script that marks that it started, sleeps 1.5 s, then answers its query. */
function slowScript(marker: string): string {
  return ['#!/bin/sh', `: > '${marker}'`, 'sleep 1.5', `printf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' "$QUERY_STRING"`, ''].join('\n');
}
const INSTALLED_CONFIG = '/etc/cgi-fpm/cgi-fpm.toml';

/** The shipped unit's `ExecReload=` as argv, for this checkout's binary and `configFile`. */
async function execReload(configFile: string): Promise<string[]> {
  const unit = await readFile(join(REPO_ROOT, 'systemd/cgi-fpm.service'), 'utf8');
  const line = /^ExecReload=(.*)$/m.exec(unit)?.[1];
  if (line === undefined) throw new Error('systemd/cgi-fpm.service has no ExecReload=');
  const argv = line.split(/\s+/).map((word) => (word === INSTALLED_CONFIG ? configFile : word));
  if (argv[0] !== INSTALLED_BIN) throw new Error(`ExecReload runs ${String(argv[0])}, not ${INSTALLED_BIN}`);
  return [process.execPath, CLI_MAIN, ...argv.slice(1)];
}

function run(argv: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [command = '', ...args] = argv;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function configOf(paths: StackPaths, pool: TomlDocument): TomlDocument {
  return {
    global: { log_level: 'info', ...CONTROL_GLOBAL },
    pools: { main: { ...defaultPool(paths.root, paths.fastcgiSocket), ...pool } },
  };
}

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async (paths) => {
    await writeScript(paths.root, 'echo.sh', echoQueryScript());
    return configOf(paths, {}).pools as TomlDocument;
  },
});

describe("the unit's ExecReload (systemctl reload)", () => {
  it('exits 0 once the config is applied, 78 with every problem when it is refused', async () => {
    const s = stack();
    const reload = await execReload(s.daemon.configFile);

    await writeConfigFile(s.daemon.configFile, configOf(s, { pm: { max_children: 3 } }));
    let since = s.daemon.logs.length;
    const applied = await run(reload);
    expect(applied).toEqual({ code: 0, stdout: 'reloaded\n', stderr: '' });
    // The command returned after the daemon finished: the reload is already logged.
    expect(s.daemon.logs.slice(since).some((e) => e.msg === 'reloaded')).toBe(true);

    await writeConfigFile(s.daemon.configFile, configOf(s, { pm: { max_children: 0 }, 'queue.max': -1 }));
    since = s.daemon.logs.length;
    const refused = await run(reload);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain('pool "main": pm.max_children must be ≥ 1, got 0');
    expect(refused.stderr).toContain('pool "main": queue.max must be ≥ 0, got -1');
    expect(refused.stderr).toContain('reload: refused; the daemon keeps running the previous config');
    expect(s.daemon.logs.slice(since).some((e) => e.msg === 'reload refused, keeping the running config')).toBe(true);
    const res = await s.request('/echo.sh?still=serving');
    expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: echoed('still=serving') });
  });

  it('kill -USR2 still reloads (the signal the unit used before)', async () => {
    const s = stack();
    await writeConfigFile(s.daemon.configFile, configOf(s, { pm: { max_children: 2 } }));
    const since = s.daemon.logs.length;
    process.kill(s.daemon.pid, 'SIGUSR2');
    await s.daemon.waitForLog((e) => e.msg === 'reloaded', 15_000, since);
    expect((await s.request('/echo.sh?after=usr2')).text).toBe(echoed('after=usr2'));
  });
});

describe('SIGQUIT (PHP-FPM graceful stop)', () => {
  it('is logged, lets the request in flight finish, exits 0, leaves no socket and no worker', async () => {
    const s = await startStack({
      pools: async (paths) => {
        await writeScript(paths.root, 'slow.sh', slowScript(join(paths.dir, 'started')));
        return { main: defaultPool(paths.root, paths.fastcgiSocket) };
      },
    });
    try {
      const workers = childPids(s.daemon.pid);
      const inFlight = s.request('/slow.sh?in=flight', { timeoutMs: 30_000 });
      await waitUntil('the script running', () => existsSync(join(s.dir, 'started')), 15_000);
      process.kill(s.daemon.pid, 'SIGQUIT');
      const seen = await s.daemon.waitForLog((e) => e.msg === 'received signal, stopping', 5000);
      expect(seen.signal).toBe('SIGQUIT');
      const res = await inFlight;
      expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: echoed('in=flight') });
      expect(await s.daemon.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(s.fastcgiSocket)).toBe(false);
      await waitForProcessesGone(workers, undefined, 10_000);
    } finally {
      await s.stop();
    }
  });
});
