// This file implements the tests of `cgi-fpm status`, `reload` and `stop` from the perspective
// of an operator at a shell: a config file naming a control socket in a temporary directory,
// a daemon faked behind the real control server, exit codes and the exact lines printed.

import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startControlServer, type ControlServer } from '../../supervisor/control/control.ts';
import type { ControlTarget, ReloadResult } from '../../supervisor/status.ts';
import { testDaemonStatus } from '../../supervisor/status-test-peer.ts';
import { runCli } from '../main.ts';

let dir: string;
let config: string;
let socket: string;
let control: ControlServer | undefined;
let impostor: Server | undefined;

function capture() {
  const io = { out: '', err: '' };
  return {
    io,
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
  };
}

/** Runs `cgi-fpm ARGV -c CONFIG`; the exit code and what was printed. */
async function run(...argv: string[]) {
  const out = capture();
  const code = await runCli([...argv, '-c', config], out);
  return { code, ...out.io };
}

function daemon(reload: ReloadResult = { ok: true }, drained: ReloadResult = { ok: true }) {
  return {
    status: vi.fn(() => testDaemonStatus()),
    reload: vi.fn(() => Promise.resolve(reload)),
    stop: vi.fn(),
    drain: vi.fn(() => Promise.resolve(drained)),
  } satisfies ControlTarget;
}

async function startDaemon(target: ControlTarget): Promise<void> {
  control = await startControlServer(socket, target, pino({ level: 'silent' }));
}

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-ctl-')));
  config = join(dir, 'cgi-fpm.toml');
  socket = join(dir, 'run', 'control.sock');
  // The pool is broken on purpose: control commands read only [global].
  await writeFile(
    config,
    '[global]\ncontrol_socket = "run/control.sock"\n[pools.blog]\nlisten = "b.sock"\nroot = "absent"\n',
  );
});

afterEach(async () => {
  control?.close();
  control = undefined;
  impostor?.close();
  impostor = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('cgi-fpm status', () => {
  it('prints a table per pool and exits 0', async () => {
    await startDaemon(daemon());
    const { code, out, err } = await run('status');
    expect([code, err]).toEqual([0, '']);
    expect(out).toContain('pid:                  4242\n');
    expect(out).toContain('\npool:                 blog\nprocess manager:      static\n');
    expect(out).toContain('max children reached: 9\n');
  });

  it('prints the status as JSON with --json', async () => {
    await startDaemon(daemon());
    const { code, out } = await run('status', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(testDaemonStatus());
  });

  it('exits 70 when the daemon answers with an error', async () => {
    const target = daemon();
    target.status.mockImplementation(() => {
      throw new Error('boom');
    });
    await startDaemon(target);
    expect(await run('status')).toEqual({ code: 70, out: '', err: 'control: status: boom\n' });
  });
});

describe('cgi-fpm reload', () => {
  it('prints "reloaded" and exits 0', async () => {
    const target = daemon();
    await startDaemon(target);
    expect(await run('reload')).toEqual({ code: 0, out: 'reloaded\n', err: '' });
    expect(target.reload).toHaveBeenCalledOnce();
  });

  it('prints each problem of a refused config and exits 78', async () => {
    const errors = [
      'config: /etc/x.toml: pool "a": pm.max_children must be ≥ 1, got 0',
      'config: /etc/x.toml: unknown key "x"',
    ];
    await startDaemon(daemon({ ok: false, errors }));
    expect(await run('reload')).toEqual({
      code: 78,
      out: '',
      err: `${errors.join('\n')}\nreload: refused; the daemon keeps running the previous config\n`,
    });
  });
});

describe('cgi-fpm stop', () => {
  it('prints "stopping" and exits 0 once the daemon has accepted', async () => {
    const target = daemon();
    await startDaemon(target);
    expect(await run('stop')).toEqual({ code: 0, out: 'stopping\n', err: '' });
    expect(target.stop).toHaveBeenCalledOnce();
  });
});

describe('cgi-fpm drain', () => {
  it('prints "drained" and exits 0 once the daemon has drained', async () => {
    const target = daemon();
    await startDaemon(target);
    expect(await run('drain')).toEqual({ code: 0, out: 'drained\n', err: '' });
    expect(target.drain).toHaveBeenCalledOnce();
  });

  it('exits 70 with the reason when process_control_timeout cut requests short', async () => {
    const cut = 'drain: process_control_timeout (10000 ms) passed: the requests still running were killed';
    await startDaemon(daemon({ ok: true }, { ok: false, errors: [cut] }));
    expect(await run('drain')).toEqual({ code: 70, out: '', err: `${cut}\n` });
  });
});

describe('failures', () => {
  it.each(['status', 'reload', 'stop'])('%s: exits 69 when the daemon is not running', async (verb) => {
    expect(await run(verb)).toEqual({
      code: 69,
      out: '',
      err: `control: cannot connect to ${socket}: ENOENT (no such socket); is cgi-fpm running?\n`,
    });
  });

  it.each(['status', 'reload', 'stop'])(
    '%s: exits 78 when the config has no control_socket',
    async (verb) => {
      await writeFile(config, '[global]\nlog_level = "info"\n');
      expect(await run(verb)).toEqual({
        code: 78,
        out: '',
        err: `${verb}: no control_socket in ${config} ([global] control_socket)\n`,
      });
    },
  );

  it('exits 78 for a [global] the daemon could not have started with, or a missing file', async () => {
    await writeFile(config, '[global]\ncontrol_socket = 1\n');
    expect(await run('status')).toEqual({
      code: 78,
      out: '',
      err: `config: ${config}: global.control_socket must be a string, got 1\n`,
    });
    await rm(config);
    expect((await run('stop')).err).toBe(
      `config: ${config}: cannot read the config file: ENOENT (no such file or directory)\n`,
    );
  });

  it('exits 76 when whatever answers is not a cgi-fpm daemon', async () => {
    const server = createServer((s) => s.end('nope\n'));
    impostor = server;
    await mkdir(join(dir, 'run'));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    const { code, err } = await run('status');
    expect(code).toBe(76);
    expect(err).toBe(
      `control: ${socket}: unexpected reply (not JSON: "nope"); is it a cgi-fpm control socket?\n`,
    );
  });

  it('lists the control commands in --help', async () => {
    const out = capture();
    expect(await runCli(['--help'], out)).toBe(0);
    for (const verb of ['status', 'reload', 'stop']) expect(out.io.out).toContain(`cgi-fpm ${verb}`);
    const status = capture();
    expect(await runCli(['status', '--help'], status)).toBe(0);
    expect(status.io.out).toContain('--json');
  });
});
