// This file implements readiness notification from the perspective of the service manager:
// systemd (a NOTIFY_SOCKET the test binds itself) reads READY=1 with a STATUS= line once the
// pool's workers are ready, STATUS= refreshed with the request rate, WATCHDOG=1 pings,
// RELOADING=1 … READY=1 around SIGHUP and STOPPING=1 on SIGTERM, all sent as the daemon; s6
// reads one newline on `--notify-fd`; and a missing systemd-notify costs the notifications,
// not the daemon.
import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeConfigFile } from './helpers/config-file.ts';
import { READY_MESSAGE } from './helpers/daemon.ts';
import { startNotifyReceiver, type Notification } from './helpers/notify-socket.ts';
import { CLI_MAIN } from './helpers/paths.ts';
import { startStack } from './helpers/stack.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const runningAsRoot = process.getuid?.() === 0;

let tmp: TempDir;

beforeAll(async () => {
  tmp = await createTempDir('cgi-fpm-notify-');
});

afterAll(async () => {
  await tmp.remove();
});

function statusOf(n: Notification): string | undefined {
  return n.fields.find((f) => f.startsWith('STATUS='))?.slice('STATUS='.length);
}

/** The status line of an idle one-pool daemon, with its request rate. */
const IDLE_STATUS = /^1 pool, workers: 0 busy, 2 idle; (\d+\.\d) req\/s$/;

describe('sd_notify (NOTIFY_SOCKET)', () => {
  it('READY=1 and STATUS=, refreshed; WATCHDOG=1; RELOADING=1 … READY=1 on SIGHUP; STOPPING=1', async () => {
    const receiver = await startNotifyReceiver(await realpath(tmp.path));
    const stack = await startStack({ daemonEnv: { NOTIFY_SOCKET: receiver.path, WATCHDOG_USEC: '400000' } });
    try {
      const { daemon } = stack;
      const ready = await receiver.waitFor(['READY=1']);
      expect(ready.fields).toEqual([
        `MAINPID=${daemon.pid}`,
        'READY=1',
        'STATUS=1 pool, workers: 0 busy, 2 idle; 0.0 req/s',
      ]);
      // As root, libsystemd sends with the daemon's credentials; otherwise systemd-notify's own.
      if (runningAsRoot) expect(ready.pid).toBe(daemon.pid);
      expect(daemon.logs.some((e) => e.msg === READY_MESSAGE)).toBe(true);

      // WATCHDOG_USEC = 400 ms: a ping every 200 ms at most (one in flight at a time).
      await waitUntil(
        'three watchdog pings',
        () =>
          receiver.received.filter((n) => n.fields.join() === `MAINPID=${daemon.pid},WATCHDOG=1`).length >= 3,
        EVENT_TIMEOUT_MS,
      );

      // Requests, then the next idle STATUS= (sent when it changed, every 5 s): a rate above 0.
      // Should that line's 5 s hold no request (the last one began before the line before it),
      // the rate is 0.0: more requests, and the next line.
      let refreshed: Notification | undefined;
      for (let attempt = 1; refreshed === undefined; attempt++) {
        const from = receiver.received.length;
        for (let i = 0; i < 10; i++) expect((await stack.request('/hello.sh')).status).toBe(200);
        const idle = await receiver.waitFor(
          (n) => !n.fields.includes('READY=1') && IDLE_STATUS.test(statusOf(n) ?? ''),
          EVENT_TIMEOUT_MS,
          from,
        );
        if (Number(IDLE_STATUS.exec(statusOf(idle) ?? '')?.[1]) > 0) refreshed = idle;
        else if (attempt === 5) throw new Error(`no request rate in 5 STATUS= lines: ${statusOf(idle)}`);
      }
      expect(statusOf(refreshed)).toMatch(IDLE_STATUS);

      let since = receiver.received.length;
      const before = process.hrtime.bigint() / 1000n;
      process.kill(daemon.pid, 'SIGHUP');
      const reloading = await receiver.waitFor(['RELOADING=1', 'MONOTONIC_USEC='], EVENT_TIMEOUT_MS, since);
      const readyAgain = await receiver.waitFor(['READY=1', 'STATUS='], EVENT_TIMEOUT_MS, since);
      expect(receiver.received.indexOf(reloading)).toBeLessThan(receiver.received.indexOf(readyAgain));
      // The same CLOCK_MONOTONIC as this process's hrtime, in µs.
      const usec = BigInt(
        reloading.fields.find((f) => f.startsWith('MONOTONIC_USEC='))?.split('=')[1] ?? '0',
      );
      expect(usec >= before && usec <= process.hrtime.bigint() / 1000n).toBe(true);

      since = receiver.received.length;
      expect(await daemon.stop()).toBe(0);
      const stopping = await receiver.waitFor(['STOPPING=1'], EVENT_TIMEOUT_MS, since);
      expect(stopping.fields).toContain('STATUS=stopping: finishing requests in flight');
      expect(receiver.received.slice(since).some((n) => n.fields.includes('READY=1'))).toBe(false);
    } finally {
      await stack.stop();
      await receiver.stop();
    }
  });

  it('without systemd-notify on PATH: logs it once and serves on', async () => {
    const stack = await startStack({
      daemonEnv: { NOTIFY_SOCKET: join(tmp.path, 'nobody.sock'), PATH: '/nonexistent' },
    });
    try {
      await stack.daemon.waitForLog((e) => e.msg === 'cannot run systemd-notify, systemd notifications off');
      expect((await stack.request('/hello.sh')).text).toBe('hello\n');
      expect(
        stack.daemon.logs.filter((e) => e.msg === 'cannot run systemd-notify, systemd notifications off'),
      ).toHaveLength(1);
    } finally {
      await stack.stop();
    }
  });
});

describe('s6 readiness (--notify-fd)', () => {
  it('writes one newline to the fd once ready, then closes it', async () => {
    const dir = await realpath(tmp.path);
    const config = join(dir, 's6.toml');
    await writeConfigFile(config, {
      pools: { www: { listen: join(dir, 's6.sock'), root: dir, pm: { max_children: 1 } } },
    });
    const child = spawn(process.execPath, [CLI_MAIN, 'start', '-c', config, '--notify-fd', '3'], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const notifyPipe = child.stdio[3];
    if (notifyPipe === null || notifyPipe === undefined || !('on' in notifyPipe))
      throw new Error('no fd 3 pipe');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const readiness = await new Promise<{ text: string; loggedReadyFirst: boolean }>((resolve) => {
        let text = '';
        let loggedReadyFirst = false;
        notifyPipe.on('data', (chunk: Buffer) => {
          if (text === '') loggedReadyFirst = stdout.includes(READY_MESSAGE);
          text += chunk.toString('utf8');
        });
        notifyPipe.on('end', () => {
          resolve({ text, loggedReadyFirst });
        });
      });
      expect(readiness).toEqual({ text: '\n', loggedReadyFirst: true });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a --notify-fd that is not open: exit 64', async () => {
    const child = spawn(
      process.execPath,
      [CLI_MAIN, 'start', '-c', '/nonexistent.toml', '--notify-fd', '200'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect({ code, stderr }).toEqual({
      code: 64,
      stderr: 'cgi-fpm: --notify-fd 200: file descriptor 200 is not open\n',
    });
  });
});
