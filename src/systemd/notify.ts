// This file implements sd_notify from the perspective of a Node daemon, which cannot send
// AF_UNIX datagrams (node:net has stream sockets only, node:dgram UDP only): each message is
// handed to `systemd-notify`, the tool systemd ships for shell scripts, one at a time so that
// systemd sees them in order, with status and watchdog messages coalesced while one waits.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import type { Logger } from '../log/logger.ts';
import type { NotifyMessage } from './notify-message.ts';

/** Starts a process (`child_process.spawn`, injected). */
export type NotifySpawn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** What {@link SystemdNotifier} needs. */
export interface NotifierDeps {
  readonly spawn: NotifySpawn;
  readonly log: Logger;
  /** `NOTIFY_SOCKET` as systemd set it. */
  readonly notifySocket: string;
  /** The daemon's pid, sent as `--pid` (the message's sender and `MAINPID=`). */
  readonly pid: number;
  /** `PATH` to find `systemd-notify` in. */
  readonly path: string | undefined;
  /** The program. @defaultValue `"systemd-notify"` */
  readonly command?: string;
}

/**
 * Messages that replace an earlier one of the same kind still waiting: only the newest status
 * matters, and one pending watchdog ping is enough.
 */
export type NotifyKind = 'lifecycle' | 'status' | 'watchdog';

/** Sends notifications; {@link SystemdNotifier} is the real one. */
export interface Notifier {
  /** Queues one message; never throws. */
  send(message: NotifyMessage, kind?: NotifyKind): void;
  /** Resolves once the queue is empty, or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
}

interface Pending {
  readonly kind: NotifyKind;
  message: NotifyMessage;
}

/** Messages waiting at most; past it new ones are dropped (and logged). */
const MAX_PENDING = 32;
/** A `systemd-notify` that has not exited by then is killed (it waits up to 5 s itself). */
const SEND_TIMEOUT_MS = 10_000;

/**
 * Sends sd_notify messages by running `systemd-notify --pid=PID KEY=VALUE…`.
 *
 * Why this tool: it ships with systemd wherever `NOTIFY_SOCKET` can be set, and by default it
 * waits (`sd_notify_barrier`) until systemd has read the message, so systemd can still tell
 * which service sent it. As root, libsystemd sends with the daemon's pid as the sender;
 * otherwise the sender is `systemd-notify` itself, which is why the unit says
 * `NotifyAccess=all`. Failures are logged, never thrown: a lost notification must not stop
 * the daemon.
 *
 * @see sd_notify(3), systemd-notify(1)
 */
export class SystemdNotifier implements Notifier {
  private readonly deps: NotifierDeps;
  private readonly pending: Pending[] = [];
  private sending = false;
  private broken = false;
  private idleWaiters: (() => void)[] = [];

  constructor(deps: NotifierDeps) {
    this.deps = deps;
  }

  /** Queues one message; a `status` or `watchdog` one replaces a waiting one of its kind. */
  send(message: NotifyMessage, kind: NotifyKind = 'lifecycle'): void {
    if (this.broken) return;
    const waiting = kind === 'lifecycle' ? undefined : this.pending.find((p) => p.kind === kind);
    if (waiting !== undefined) {
      waiting.message = message;
      return;
    }
    if (this.pending.length >= MAX_PENDING) {
      this.deps.log.warn(
        { message, pending: this.pending.length },
        'systemd notification dropped, too many waiting',
      );
      return;
    }
    this.pending.push({ kind, message });
    this.next();
  }

  /** Resolves once every queued message was sent (or failed), or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    if (!this.sending) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private next(): void {
    if (this.sending) return;
    const item = this.pending.shift();
    if (item === undefined) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    this.sending = true;
    this.run(item.message, () => {
      this.sending = false;
      this.next();
    });
  }

  private run(message: NotifyMessage, done: () => void): void {
    const { log, notifySocket, pid, path } = this.deps;
    const command = this.deps.command ?? 'systemd-notify';
    const env: NodeJS.ProcessEnv =
      path === undefined ? { NOTIFY_SOCKET: notifySocket } : { NOTIFY_SOCKET: notifySocket, PATH: path };
    const child = this.deps.spawn(command, [`--pid=${pid}`, ...message], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, SEND_TIMEOUT_MS);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done();
    };
    child.once('error', (err) => {
      this.broken = true;
      this.pending.length = 0;
      log.error({ command, err: err.message }, 'cannot run systemd-notify, systemd notifications off');
      finish();
    });
    child.once('close', (code, signal) => {
      if (code !== 0 && !this.broken) {
        log.warn({ command, message, code, signal, stderr: stderr.trim() }, 'systemd notification failed');
      } else {
        log.debug({ message }, 'systemd notified');
      }
      finish();
    });
  }
}
