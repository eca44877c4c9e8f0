// This file implements `pm = static` from the perspective of a pool: always exactly
// `pm.max_children` workers; replace whatever is missing, never stop one.
import { totalOf, type PmDecision, type PmSettings, type PmSnapshot } from './types.ts';

/** @see PHP-FPM `pm = static` */
export function decideStatic(settings: PmSettings, s: PmSnapshot): PmDecision {
  return { spawn: Math.max(0, settings.maxChildren - totalOf(s)), stop: [] };
}
