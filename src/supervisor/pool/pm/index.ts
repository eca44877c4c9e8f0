// This file implements the choice of process-manager policy from the perspective of a pool.
import { decideDynamic } from './dynamic.ts';
import { decideOndemand } from './ondemand.ts';
import { decideStatic } from './static.ts';
import type { PmDecision, PmSettings, PmSnapshot } from './types.ts';

export type { IdleWorker, PmDecision, PmSettings, PmSnapshot } from './types.ts';

/**
 * How many workers to fork or stop now under `settings.mode`.
 * @see PHP-FPM `pm`
 */
export function decide(settings: PmSettings, snapshot: PmSnapshot): PmDecision {
  switch (settings.mode) {
    case 'static':
      return decideStatic(settings, snapshot);
    case 'dynamic':
      return decideDynamic(settings, snapshot);
    case 'ondemand':
      return decideOndemand(settings, snapshot);
  }
}

/** Workers a pool starts with: all for static, `pm.start_servers` for dynamic, none on demand. */
export function initialWorkers(settings: PmSettings): number {
  switch (settings.mode) {
    case 'static':
      return settings.maxChildren;
    case 'dynamic':
      return Math.min(settings.startServers, settings.maxChildren);
    case 'ondemand':
      return 0;
  }
}
