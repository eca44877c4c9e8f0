// This file implements the daemon's signal table from the perspective of an operator (and
// systemd) sending signals, as PHP-FPM defines it: TERM/INT/QUIT stop gracefully (QUIT is
// PHP-FPM's graceful stop), HUP/USR2 reload the config (checked first), USR1 reopens the log file.
import type { Logger } from '../../log/logger.ts';

/** What the signals act on. */
export interface SignalTarget {
  stop(): void;
  reload(): Promise<unknown>;
  reopenLogs(): void;
}

/**
 * Installs the handlers; returns a function that removes them.
 * @see php-src `sapi/fpm/fpm/fpm_signals.c`
 */
export function installSignals(target: SignalTarget, log: Logger): () => void {
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGTERM', () => { log.info({ signal: 'SIGTERM' }, 'received signal, stopping'); target.stop(); }],
    ['SIGINT', () => { log.info({ signal: 'SIGINT' }, 'received signal, stopping'); target.stop(); }],
    ['SIGQUIT', () => { log.info({ signal: 'SIGQUIT' }, 'received signal, stopping'); target.stop(); }],
    ['SIGHUP', () => { log.info({ signal: 'SIGHUP' }, 'received signal, reloading'); void target.reload(); }],
    ['SIGUSR2', () => { log.info({ signal: 'SIGUSR2' }, 'received signal, reloading'); void target.reload(); }],
    ['SIGUSR1', () => { log.info({ signal: 'SIGUSR1' }, 'received signal, reopening logs'); target.reopenLogs(); }],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
