// This file implements the rows of the table from the perspective of the bench loop: probe each
// target and warm it up, then measure all of them in interleaved slices (rounds.ts), reading
// the CPU of every side around each slice and the memory of every process after the last;
// any failure becomes the row's error, with the server's own words for it, and the other
// targets go on.
import { addSplits, cpuBetween, takeSnapshot, type CpuSnapshot, type CpuSplit } from './cpu-sample.ts';
import { sampleMemory, type ProcessMemory } from './memory.ts';
import { probe } from './probe.ts';
import { combineSlices, roundOrder } from './rounds.ts';
import type { ServerWatch } from './sides.ts';
import type { Target } from './targets.ts';
import { runWrk, type WrkLoad, type WrkResult } from './wrk.ts';

/** How every row is measured. */
export interface Settings {
  /** Workers per pool (`pm.max_children`), fcgiwrap's `-c`, PHP-FPM's and mod_wsgi's processes. */
  readonly workers: number;
  /** One measured slice of wrk (`durationS` is a slice's). */
  readonly load: WrkLoad;
  /** Slices per target, taken in interleaved rounds. */
  readonly rounds: number;
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

/** CPU of every side during a row's slices. */
export interface RowCpu {
  /** Summed over the slices whose CPU could be read. */
  readonly split: CpuSplit;
  /** Requests wrk completed in those slices. */
  readonly requests: number;
}

/** A measured row. */
export interface MeasuredRow extends RowBase {
  readonly ok: true;
  readonly result: WrkResult;
  readonly slices: readonly WrkResult[];
  /** Undefined when no slice's CPU could be read. */
  readonly cpu: RowCpu | undefined;
  /** Every process of the target's servers after its last slice (empty when unreadable). */
  readonly memory: readonly ProcessMemory[];
}

/** One row: a measurement, or why there is none. */
export type Row = MeasuredRow | (RowBase & { readonly ok: false; readonly error: string });

/** Where a row's target is and what the backend logged about it. */
export interface RowContext {
  readonly wrk: string;
  readonly url: string;
  /** Set when the backend did not start: the row fails with it without any request. */
  readonly startError?: string;
  /** Warnings and errors the backend logged about this target so far. */
  readonly problems: () => readonly string[];
  /** The servers whose processes serve this target (front first), for CPU and memory. */
  readonly watches: readonly ServerWatch[];
}

/** The lines logged during the row, at most the last 5. */
function newLines(before: number, problems: () => readonly string[]): string[] {
  return problems().slice(before).slice(-5);
}

/** A target to measure, with where it is. */
export interface Candidate {
  readonly target: Target;
  readonly context: RowContext;
}

/** The failed row of `target`: the first line of `message`, then the detail and the backend's words. */
function failedRow(target: Target, context: RowContext, message: string): Row {
  const [error = '', ...detail] = message.split('\n');
  // What the failing step printed, then everything the backend said about this target,
  // startup included (a worker that never started).
  const log = [...detail.filter((l) => l.trim() !== '').slice(-10), ...context.problems().slice(-5)];
  return { target, url: context.url, ok: false, error, log };
}

/** Probes and warms up `target`; resolves with its failed row, or undefined when it is ready. */
async function prepare({ target, context }: Candidate, settings: Settings): Promise<Row | undefined> {
  if (context.startError !== undefined) {
    const [error = '', ...rest] = context.startError.split('\n');
    return { target, url: context.url, ok: false, error, log: rest.filter((l) => l.trim() !== '').slice(-5) };
  }
  try {
    await probe(context.url, settings.probeTimeoutMs);
    await runWrk(context.wrk, context.url, { ...settings.load, durationS: settings.warmupS });
    return undefined;
  } catch (err) {
    return failedRow(target, context, (err as Error).message);
  }
}

/** A slice's wrk result and the CPU of each side during it (undefined when unreadable). */
interface Slice {
  readonly wrk: WrkResult;
  readonly cpu: CpuSplit | undefined;
}

async function snapshot(watches: readonly ServerWatch[]): Promise<CpuSnapshot | undefined> {
  return takeSnapshot(watches).catch(() => undefined);
}

/** One slice of wrk between two CPU reads. @throws Error when wrk fails */
async function measureSlice(context: RowContext, load: WrkLoad): Promise<Slice> {
  const before = await snapshot(context.watches);
  const wrk = await runWrk(context.wrk, context.url, load);
  const after = await snapshot(context.watches);
  const cpu =
    before === undefined || after === undefined ? undefined : cpuBetween(context.watches, before, after);
  return { wrk, cpu };
}

async function measuredRow(
  target: Target,
  context: RowContext,
  taken: readonly Slice[],
  logFrom: number,
): Promise<Row> {
  const { slices, ...result } = combineSlices(taken.map((s) => s.wrk));
  const read = taken.flatMap((s) => (s.cpu === undefined ? [] : [{ cpu: s.cpu, requests: s.wrk.requests }]));
  const cpu =
    read.length === 0
      ? undefined
      : { split: addSplits(read.map((s) => s.cpu)), requests: read.reduce((n, s) => n + s.requests, 0) };
  const memory = await sampleMemory(context.watches).catch(() => []);
  const log = newLines(logFrom, context.problems);
  return { target, url: context.url, ok: true, result, slices, cpu, memory, log };
}

/**
 * Measures every candidate: each is probed and warmed up, then the ready ones are loaded one
 * at a time in `settings.rounds` interleaved rounds of one slice each. Never throws; a target
 * that fails is left out of the later rounds. `onStep` hears each step.
 * @returns one row per candidate, in their order
 */
export async function measureTargets(
  candidates: readonly Candidate[],
  settings: Settings,
  onStep: (line: string) => void,
  stopped: () => boolean,
): Promise<Row[]> {
  const failed = new Map<string, Row>();
  const before = new Map<string, number>();
  for (const candidate of candidates) {
    if (stopped()) break;
    onStep(`bench: warming up ${candidate.target.label} (${candidate.context.url})`);
    before.set(candidate.target.id, candidate.context.problems().length);
    const row = await prepare(candidate, settings);
    if (row !== undefined) failed.set(candidate.target.id, row);
  }
  const slices = new Map<string, Slice[]>(candidates.map((c) => [c.target.id, []]));
  for (let round = 0; round < settings.rounds && !stopped(); round++) {
    onStep(`bench: round ${round + 1} of ${settings.rounds}`);
    for (const { target, context } of roundOrder(candidates, round)) {
      if (failed.has(target.id) || stopped()) continue;
      try {
        slices.get(target.id)?.push(await measureSlice(context, settings.load));
      } catch (err) {
        failed.set(target.id, failedRow(target, context, (err as Error).message));
      }
    }
  }
  const rows: Row[] = [];
  for (const { target, context } of candidates) {
    const row = failed.get(target.id);
    const taken = slices.get(target.id) ?? [];
    if (row !== undefined) rows.push(row);
    else if (taken.length === 0)
      rows.push({ target, url: context.url, ok: false, error: 'not measured (interrupted)', log: [] });
    else rows.push(await measuredRow(target, context, taken, before.get(target.id) ?? 0));
  }
  return rows;
}
