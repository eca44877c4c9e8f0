// This file implements one row of the table from the perspective of the bench loop: probe the
// target, warm it up, then measure it with wrk; any failure becomes the row's error, with the
// daemon's own words for it, and the loop goes on with the next target.
import type { Target } from './targets.ts';
import { probe } from './probe.ts';
import { runWrk, type WrkLoad, type WrkResult } from './wrk.ts';

/** How every row is measured. */
export interface Settings {
  /** Workers per pool (`pm.max_children`) and fcgiwrap children (`-c`). */
  readonly workers: number;
  /** The measured wrk run. */
  readonly load: WrkLoad;
  /** Seconds of the same load before measuring, not counted. */
  readonly warmupS: number;
  /** Bound on the probe request, in milliseconds (the first one waits for workers to start). */
  readonly probeTimeoutMs: number;
}

/** What every row has. */
interface RowBase {
  readonly target: Target;
  /** The URL wrk loaded. */
  readonly url: string;
  /** The backend's warnings and errors about this target (the last few). */
  readonly log: readonly string[];
}

/** One row: a measurement, or why there is none. */
export type Row =
  | (RowBase & { readonly ok: true; readonly result: WrkResult })
  | (RowBase & { readonly ok: false; readonly error: string });

/** Where a row's target is and what the backend logged about it. */
export interface RowContext {
  readonly wrk: string;
  readonly url: string;
  /** Set when the backend did not start: the row fails with it without any request. */
  readonly startError?: string;
  /** Warnings and errors the backend logged about this target so far. */
  readonly problems: () => readonly string[];
}

/** The lines logged during the row, at most the last 5. */
function newLines(before: number, problems: () => readonly string[]): string[] {
  return problems().slice(before).slice(-5);
}

/** Probes, warms up and measures `target`; never throws. */
export async function measureTarget(target: Target, context: RowContext, settings: Settings): Promise<Row> {
  const { url } = context;
  if (context.startError !== undefined) {
    const [error = '', ...rest] = context.startError.split('\n');
    return { target, url, ok: false, error, log: rest.filter((l) => l.trim() !== '').slice(-5) };
  }
  const before = context.problems().length;
  try {
    await probe(url, settings.probeTimeoutMs);
    await runWrk(context.wrk, url, { ...settings.load, durationS: settings.warmupS });
    const result = await runWrk(context.wrk, url, settings.load);
    return { target, url, ok: true, result, log: newLines(before, context.problems) };
  } catch (err) {
    const [error = '', ...detail] = (err as Error).message.split('\n');
    // What the failing step printed, then everything the backend said about this target,
    // startup included (a worker that never started).
    const log = [...detail.filter((l) => l.trim() !== '').slice(-10), ...context.problems().slice(-5)];
    return { target, url, ok: false, error, log };
  }
}
