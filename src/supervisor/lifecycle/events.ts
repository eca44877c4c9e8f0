// This file implements the supervisor's lifecycle events from the perspective of whoever
// watches the daemon from outside (systemd and s6 readiness, src/systemd/readiness.ts): the
// steps it is told of as they happen.
import type { ReloadResult } from '../status.ts';

/** Lifecycle steps, called synchronously by the supervisor; they must not throw. */
export interface SupervisorEvents {
  /** A reload began (SIGHUP, SIGUSR2, `cgi-fpm reload`). */
  reloading(): void;
  /** The reload ended, applied or refused; the daemon serves again (unless stopping). */
  reloaded(result: ReloadResult): void;
  /** A graceful stop began (SIGTERM, SIGINT, `cgi-fpm stop`). */
  stopping(): void;
}
