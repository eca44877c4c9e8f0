// This file implements the ratios from the perspective of the report: req/s of one row divided
// by another's — the median of the quotients of slices taken in the same round — checked
// against issue 3's goals, and left empty (with the reason) when either row has no measurement.
import type { Row } from './measure.ts';
import { pairedRatio } from './rounds.ts';
import type { WrkResult } from './wrk.ts';
import { RATIOS, TARGETS, type RatioSpec } from './targets.ts';

/** A ratio as reported. */
export interface Ratio {
  readonly spec: RatioSpec;
  /** numerator req/s ÷ denominator req/s (median per round); undefined when either row failed. */
  readonly value?: number;
  /** Whether `value` reaches `spec.goal`; undefined without a goal or a value. */
  readonly met?: boolean;
  /** Why there is no value (`"python persistent failed"`). */
  readonly missing?: string;
}

function slicesOf(rows: readonly Row[], id: string): readonly WrkResult[] | string {
  const row = rows.find((r) => r.target.id === id);
  if (row === undefined) return `${TARGETS.find((t) => t.id === id)?.label ?? id} not run`;
  if (!row.ok) return `${row.target.label} failed`;
  if (row.result.rps <= 0) return `${row.target.label} served nothing`;
  return row.slices;
}

/** Every ratio of {@link RATIOS} for these rows. */
export function computeRatios(rows: readonly Row[]): Ratio[] {
  return RATIOS.map((spec) => {
    const top = slicesOf(rows, spec.numerator);
    const bottom = slicesOf(rows, spec.denominator);
    if (typeof top === 'string') return { spec, missing: top };
    if (typeof bottom === 'string') return { spec, missing: bottom };
    const value = pairedRatio(top, bottom);
    return spec.goal === undefined ? { spec, value } : { spec, value, met: value >= spec.goal };
  });
}
