// This file implements the tests of notify.ts from the perspective of systemd, which must get
// the messages in order and from `systemd-notify --pid=PID`, and of an operator who must see
// a failed notification in the log rather than a dead daemon.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SystemdNotifier, type NotifierDeps } from './notify.ts';

interface Call {
  readonly command: string;
  readonly args: readonly string[];
  readonly options: SpawnOptions;
  readonly child: FakeChild;
}

class FakeChild extends EventEmitter {
  readonly stderr = new PassThrough();
  readonly killed: string[] = [];
  kill(signal: string): boolean {
    this.killed.push(signal);
    return true;
  }
  /** Ends as systemd-notify would: stderr text, then 'close'. */
  finish(code: number, stderr = ''): void {
    this.stderr.end(stderr);
    this.stderr.once('end', () => this.emit('close', code, null));
    this.stderr.resume();
  }
}

function setUp(overrides: Partial<NotifierDeps> = {}): {
  notifier: SystemdNotifier;
  calls: Call[];
  logs: Record<string, unknown>[];
} {
  const calls: Call[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const spawn = (command: string, args: readonly string[], options: SpawnOptions): ChildProcess => {
    const child = new FakeChild();
    calls.push({ command, args, options, child });
    return child as unknown as ChildProcess;
  };
  const notifier = new SystemdNotifier({
    spawn,
    log,
    notifySocket: '/run/n.sock',
    pid: 77,
    path: '/usr/bin',
    ...overrides,
  });
  return { notifier, calls, logs };
}

const tick = (): Promise<void> =>
  new Promise((resolve) => {
    setImmediate(resolve);
  });

describe('SystemdNotifier', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs systemd-notify --pid=PID with the assignments, NOTIFY_SOCKET and PATH only', () => {
    const { notifier, calls } = setUp();
    notifier.send(['READY=1', 'STATUS=1 pool']);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.command).toBe('systemd-notify');
    expect(calls[0]?.args).toEqual(['--pid=77', 'READY=1', 'STATUS=1 pool']);
    expect(calls[0]?.options.env).toEqual({ NOTIFY_SOCKET: '/run/n.sock', PATH: '/usr/bin' });
    expect(calls[0]?.options.stdio).toEqual(['ignore', 'ignore', 'pipe']);
  });

  it('sends one message at a time, in order', async () => {
    const { notifier, calls } = setUp();
    notifier.send(['RELOADING=1']);
    notifier.send(['READY=1']);
    notifier.send(['STOPPING=1']);
    expect(calls.map((c) => c.args[1])).toEqual(['RELOADING=1']);
    calls[0]?.child.finish(0);
    await tick();
    expect(calls.map((c) => c.args[1])).toEqual(['RELOADING=1', 'READY=1']);
    calls[1]?.child.finish(0);
    await tick();
    expect(calls.map((c) => c.args[1])).toEqual(['RELOADING=1', 'READY=1', 'STOPPING=1']);
  });

  it('keeps only the newest waiting status and one waiting watchdog ping', async () => {
    const { notifier, calls } = setUp();
    notifier.send(['READY=1']);
    notifier.send(['STATUS=a'], 'status');
    notifier.send(['WATCHDOG=1'], 'watchdog');
    notifier.send(['STATUS=b'], 'status');
    notifier.send(['WATCHDOG=1'], 'watchdog');
    for (let i = 0; i < 3; i++) {
      calls[i]?.child.finish(0);
      await tick();
    }
    expect(calls.map((c) => c.args.slice(1))).toEqual([['READY=1'], ['STATUS=b'], ['WATCHDOG=1']]);
  });

  it('logs a failed notification with its stderr and goes on', async () => {
    const { notifier, calls, logs } = setUp();
    notifier.send(['READY=1']);
    notifier.send(['STATUS=x'], 'status');
    calls[0]?.child.finish(1, 'Failed to notify init system: Connection refused\n');
    await tick();
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'systemd notification failed',
        code: 1,
        message: ['READY=1'],
        stderr: 'Failed to notify init system: Connection refused',
      }),
    );
    expect(calls).toHaveLength(2);
  });

  it('turns itself off when systemd-notify cannot run', async () => {
    const { notifier, calls, logs } = setUp({ command: 'no-such-systemd-notify' });
    notifier.send(['READY=1']);
    notifier.send(['STATUS=x'], 'status');
    calls[0]?.child.emit(
      'error',
      Object.assign(new Error('spawn no-such-systemd-notify ENOENT'), { code: 'ENOENT' }),
    );
    await tick();
    notifier.send(['STOPPING=1']);
    expect(calls).toHaveLength(1);
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'cannot run systemd-notify, systemd notifications off',
        command: 'no-such-systemd-notify',
      }),
    );
    await notifier.flush(1000);
  });

  it('kills a systemd-notify that hangs past 10 s, logs it, and goes on', async () => {
    vi.useFakeTimers();
    const { notifier, calls, logs } = setUp();
    notifier.send(['READY=1']);
    notifier.send(['STATUS=x'], 'status');
    vi.advanceTimersByTime(9999);
    expect(calls[0]?.child.killed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls[0]?.child.killed).toEqual(['SIGKILL']);
    calls[0]?.child.emit('close', null, 'SIGKILL');
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'systemd notification failed', signal: 'SIGKILL' }),
    );
    expect(calls).toHaveLength(2);
    await Promise.resolve();
  });

  it('flush waits for the queue to empty, or for its bound', async () => {
    const { notifier, calls } = setUp();
    await notifier.flush(10);
    notifier.send(['STOPPING=1']);
    let flushed = false;
    const flushing = notifier.flush(60_000).then(() => {
      flushed = true;
    });
    await tick();
    expect(flushed).toBe(false);
    calls[0]?.child.finish(0);
    await flushing;
    notifier.send(['READY=1']);
    // Resolves (bounded by the 20 ms flush timeout, not by the stuck child); no wall-clock bound.
    await notifier.flush(20);
  });
});
