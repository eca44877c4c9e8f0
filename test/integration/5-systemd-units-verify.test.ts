// This file implements the checks of the shipped systemd files from the perspective of an
// operator installing them: `systemd-analyze verify` accepts the units without a single
// warning, the service keeps the settings the daemon relies on (notify readiness, a reload that waits,
// a stop timeout above process_control_timeout, no restart on a bad config), and
// systemd-tmpfiles creates /run/cgi-fpm from the tmpfiles.d entry.
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { CLI_MAIN, REPO_ROOT } from './helpers/paths.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';

const UNITS = `${REPO_ROOT}/systemd`;
/** Where the units expect the installed binary; verify needs an executable that exists. */
const INSTALLED_BIN = '/usr/local/bin/cgi-fpm';

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** `[Section]` `Key=value` pairs of a unit file (later assignments win, as in systemd). */
function unitSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header !== null) section = header[1] ?? '';
    const pair = /^(\w+)=(.*)$/.exec(line);
    if (pair !== null) settings.set(`${section}.${pair[1] ?? ''}`, pair[2] ?? '');
  }
  return settings;
}

let tmp: TempDir;
let service: string;

beforeAll(async () => {
  tmp = await createTempDir('cgi-fpm-units-');
  service = await readFile(join(UNITS, 'cgi-fpm.service'), 'utf8');
  // The same units, with the binary this checkout built instead of the installed path.
  const here = `${process.execPath} ${CLI_MAIN}`;
  await writeFile(join(tmp.path, 'cgi-fpm.service'), service.replaceAll(INSTALLED_BIN, here));
  await writeFile(join(tmp.path, 'cgi-fpm.socket'), await readFile(join(UNITS, 'cgi-fpm.socket'), 'utf8'));
});

afterAll(async () => {
  await tmp.remove();
});

describe('systemd units', () => {
  it('systemd-analyze verify accepts the service and the socket with no warning at all', async () => {
    expect(service).toContain(`ExecStart=${INSTALLED_BIN} start --config /etc/cgi-fpm/cgi-fpm.toml`);
    const result = await run(
      'systemd-analyze',
      ['verify', '--man=no', 'cgi-fpm.service', 'cgi-fpm.socket'],
      tmp.path,
    );
    expect(result).toEqual({ code: 0, output: '' });
  });

  it('systemd-analyze verify does report a broken unit (the check above can fail)', async () => {
    await writeFile(join(tmp.path, 'broken.service'), service.replace('KillMode=mixed', 'KillMode=mixd'));
    const result = await run('systemd-analyze', ['verify', '--man=no', 'broken.service'], tmp.path);
    expect(result.output).toContain('Failed to parse kill mode specification');
  });

  it('keeps what the daemon relies on: notify, a reload that waits, mixed kill, stop timeout, no restart on 78', async () => {
    const settings = unitSettings(service);
    expect(
      Object.fromEntries(
        [
          'Service.Type',
          'Service.NotifyAccess',
          'Service.ExecReload',
          'Service.KillMode',
          'Service.Restart',
          'Service.RestartPreventExitStatus',
          'Service.NoNewPrivileges',
        ].map((key) => [key, settings.get(key)]),
      ),
    ).toEqual({
      'Service.Type': 'notify',
      'Service.NotifyAccess': 'all',
      // Issue 14: reload through the control socket, which waits for the outcome (78 if refused).
      'Service.ExecReload': `${INSTALLED_BIN} reload --config /etc/cgi-fpm/cgi-fpm.toml`,
      'Service.KillMode': 'mixed',
      'Service.Restart': 'on-failure',
      'Service.RestartPreventExitStatus': '78',
      'Service.NoNewPrivileges': 'yes',
    });
    expect(settings.get('Service.CapabilityBoundingSet')?.split(' ')).toEqual(
      expect.arrayContaining(['CAP_SETUID', 'CAP_SETGID', 'CAP_CHOWN', 'CAP_KILL']),
    );
    const socket = unitSettings(await readFile(join(UNITS, 'cgi-fpm.socket'), 'utf8'));
    expect(socket.get('Socket.FileDescriptorName')).toBe('www');
    expect(socket.get('Socket.ListenStream')).toBe('/run/cgi-fpm/www.sock');
  });

  it('stops later than the default process_control_timeout lets requests finish', async () => {
    await writeFile(
      join(tmp.path, 'min.toml'),
      '[pools.www]\nlisten = "/run/cgi-fpm/www.sock"\nroot = "/tmp"\n',
    );
    const check = await runCli(['check', '-c', join(tmp.path, 'min.toml')], tmp.path);
    expect(check.code).toBe(0);
    const timeout = /^process_control_timeout = "(\d+)s"$/m.exec(check.stdout);
    expect(timeout?.[1]).toBeDefined();
    const stopSec = Number(unitSettings(service).get('Service.TimeoutStopSec'));
    expect(stopSec).toBeGreaterThan(Number(timeout?.[1]));
  });

  it('systemd-tmpfiles creates /run/cgi-fpm 0755 root:root from the tmpfiles.d entry', async () => {
    const result = await run(
      'systemd-tmpfiles',
      ['--create', `--root=${tmp.path}`, join(UNITS, 'tmpfiles.d/cgi-fpm.conf')],
      tmp.path,
    );
    expect(result).toEqual({ code: 0, output: '' });
    const dir = await stat(join(tmp.path, 'run/cgi-fpm'));
    expect({
      isDirectory: dir.isDirectory(),
      mode: (dir.mode & 0o7777).toString(8),
      uid: dir.uid,
      gid: dir.gid,
    }).toEqual({ isDirectory: true, mode: '755', uid: 0, gid: 0 });
  });
});
