// This file implements readiness and status reporting from the perspective of the service
// manager watching the daemon: systemd (`Type=notify`: READY, STATUS every few seconds,
// RELOADING … READY around reloads, STOPPING, WATCHDOG) and s6 (`notification-fd`: one newline
// once ready). It follows the supervisor's life through its events.
import type { SupervisorEvents } from '../supervisor/lifecycle/events.ts';
import type { DaemonStatus } from '../supervisor/status.ts';
import {
  readyMessage,
  reloadingMessage,
  statusMessage,
  statusText,
  stoppingMessage,
  watchdogMessage,
} from './notify-message.ts';
import type { Notifier } from './notify.ts';

/** How often `STATUS=` is refreshed while running, in milliseconds. */
export const STATUS_INTERVAL_MS = 5000;

/** What {@link Readiness} reports from and to. */
export interface ReadinessDeps {
  /** systemd's notifier, when `NOTIFY_SOCKET` is set. */
  readonly notifier: Notifier | undefined;
  /** `WATCHDOG=1` period in milliseconds (half of `WATCHDOG_USEC`), when the watchdog is on. */
  readonly watchdogIntervalMs: number | undefined;
  /** `STATUS=` period in milliseconds. @defaultValue {@link STATUS_INTERVAL_MS} */
  readonly statusIntervalMs?: number;
  /** The daemon's counters (`Supervisor.status()`). */
  readonly status: () => DaemonStatus;
  /** Wall clock, ms. */
  readonly now: () => number;
  /** CLOCK_MONOTONIC in µs, for `MONOTONIC_USEC`. */
  readonly monotonicUsec: () => bigint;
  /** Called once, the first time the daemon is ready (s6's `notification-fd`). */
  readonly onReady?: () => void;
}

/** Where the daemon is, as the service manager was told. */
type Phase = 'starting' | 'ready' | 'reloading' | 'stopping';

/**
 * Tells the service manager where the daemon is. Hand it to the supervisor as its `events`,
 * and call {@link Readiness.ready} once startup is done. Nothing runs and no timer is set
 * unless a notifier, a watchdog or `onReady` was given.
 */
export class Readiness implements SupervisorEvents {
  private readonly deps: ReadinessDeps;
  private phase: Phase = 'starting';
  private statusTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private lastAccepted = 0;
  private lastSampleMs = 0;
  private lastStatus = '';

  constructor(deps: ReadinessDeps) {
    this.deps = deps;
  }

  /** Every pool's initial workers are ready: `READY=1` and the status; timers start. */
  ready(): void {
    if (this.phase !== 'starting') return;
    this.phase = 'ready';
    this.sendReady();
    const { notifier, watchdogIntervalMs } = this.deps;
    if (notifier !== undefined) {
      this.statusTimer = setInterval(() => {
        this.refreshStatus();
      }, this.deps.statusIntervalMs ?? STATUS_INTERVAL_MS);
      this.statusTimer.unref();
      if (watchdogIntervalMs !== undefined) {
        notifier.send(watchdogMessage(), 'watchdog');
        this.watchdogTimer = setInterval(() => {
          notifier.send(watchdogMessage(), 'watchdog');
        }, watchdogIntervalMs);
        this.watchdogTimer.unref();
      }
    }
    this.deps.onReady?.();
  }

  /**
   * Still starting: some pool lacks its initial workers. Sends `STATUS=text` (no `READY=1`)
   * when the text changed since the last one.
   */
  degraded(text: string): void {
    if (this.phase !== 'starting' || text === this.lastStatus) return;
    this.lastStatus = text;
    this.deps.notifier?.send(statusMessage(text), 'status');
  }

  /** A reload began (SIGHUP, SIGUSR2, `cgi-fpm reload`). */
  reloading(): void {
    if (this.phase !== 'ready') return;
    this.phase = 'reloading';
    this.deps.notifier?.send(reloadingMessage(this.deps.monotonicUsec()));
  }

  /** The reload ended, applied or refused: either way the daemon serves again. */
  reloaded(): void {
    if (this.phase !== 'reloading') return;
    this.phase = 'ready';
    this.sendReady();
  }

  /** A graceful stop began: `STOPPING=1`; timers stop. */
  stopping(): void {
    if (this.phase === 'stopping') return;
    this.phase = 'stopping';
    this.stopTimers();
    this.deps.notifier?.send(stoppingMessage());
  }

  /** Stops the timers and waits (up to `timeoutMs`) for the last notifications to go out. */
  async close(timeoutMs: number): Promise<void> {
    this.stopTimers();
    await this.deps.notifier?.flush(timeoutMs);
  }

  private stopTimers(): void {
    clearInterval(this.statusTimer);
    clearInterval(this.watchdogTimer);
    this.statusTimer = undefined;
    this.watchdogTimer = undefined;
  }

  private sendReady(): void {
    const text = this.sample();
    this.lastStatus = text;
    this.deps.notifier?.send(readyMessage(text));
  }

  private refreshStatus(): void {
    if (this.phase !== 'ready') return;
    const text = this.sample();
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    this.deps.notifier?.send(statusMessage(text), 'status');
  }

  /** The status line, with requests per second since the previous sample. */
  private sample(): string {
    const status = this.deps.status();
    const nowMs = this.deps.now();
    const accepted = status.pools.reduce((n, p) => n + p.accepted, 0);
    const elapsedMs = nowMs - this.lastSampleMs;
    // Pools replaced by a reload start counting from 0 again: never report a negative rate.
    const rate =
      this.lastSampleMs === 0 || elapsedMs <= 0
        ? 0
        : Math.max(0, accepted - this.lastAccepted) / (elapsedMs / 1000);
    this.lastAccepted = accepted;
    this.lastSampleMs = nowMs;
    return statusText(status, rate);
  }
}
