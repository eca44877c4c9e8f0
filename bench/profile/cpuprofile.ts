// This file implements the reading of a V8 CPU profile (`node --cpu-prof`) from the perspective
// of someone asking which source file spends a request's CPU: each sample's time goes to the
// function it hit (self time), and functions are grouped by where they live — our code by its
// src/ path, Node's by its `node:` module, libraries by package, V8's pseudo-frames as they are.
import { readFile } from 'node:fs/promises';

/** The parts of a `.cpuprofile` this reads (Chrome DevTools Protocol `Profiler.Profile`). */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly samples: readonly number[];
  /** µs since the previous sample, one per sample. */
  readonly timeDeltas: readonly number[];
  /** Monotonic clock (CLOCK_MONOTONIC, µs) at the profile's start: the first delta counts from it. */
  readonly startTime: number;
}

/** A span of the monotonic clock, in µs (`process.hrtime.bigint() / 1000n`). */
export interface TimeWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

/** Self time of one place, in µs of samples. */
export interface ProfileEntry {
  /** `src/supervisor/connection.ts`, `node:net`, `pino`, `(garbage collector)`, `(native) writev`. */
  readonly where: string;
  /** The function for function-level entries, `""` for file-level ones. */
  readonly fn: string;
  readonly us: number;
}

/** A profile summed up: busy time, and self time per file and per function (largest first). */
export interface ProfileSummary {
  /** Sampled time not `(idle)`, in µs. */
  readonly busyUs: number;
  /** Sampled time in `(idle)` (waiting in epoll), in µs. */
  readonly idleUs: number;
  readonly byFile: readonly ProfileEntry[];
  readonly byFunction: readonly ProfileEntry[];
}

/**
 * Where a frame's code lives: `file:///…/dist/x/y.js` → `src/x/y.ts` (the source of the built
 * file), `…/node_modules/pkg/…` → `pkg`, `node:internal/streams/writable` as is, V8's
 * pseudo-frames (`(program)`, `(garbage collector)`) as is, a native binding (no url) as
 * `(native) NAME`.
 */
export function placeOf(url: string, functionName: string): string {
  if (url === '')
    return functionName.startsWith('(') ? functionName : `(native) ${functionName || '(anonymous)'}`;
  const modules = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (modules?.[1] !== undefined) return modules[1];
  const built = /\/dist(?:-bench)?\/(.+)\.js$/.exec(url);
  if (built?.[1] !== undefined) return `src/${built[1].replace(/^src\//, '')}.ts`;
  return url.replace(/^file:\/\//, '');
}

function sorted(map: ReadonlyMap<string, ProfileEntry>): ProfileEntry[] {
  return [...map.values()].sort((a, b) => b.us - a.us);
}

function add(map: Map<string, ProfileEntry>, key: string, where: string, fn: string, us: number): void {
  const entry = map.get(key);
  map.set(key, { where, fn, us: (entry?.us ?? 0) + us });
}

/**
 * Sums `profile`'s samples by place and by function; with `window`, only the samples taken in
 * it (the load, without the process's start-up and warm-up).
 */
export function summarizeProfile(profile: CpuProfile, window?: TimeWindow): ProfileSummary {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFile = new Map<string, ProfileEntry>();
  const byFunction = new Map<string, ProfileEntry>();
  let busyUs = 0;
  let idleUs = 0;
  let at = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    const frame = frames.get(id);
    if (frame === undefined || us <= 0) continue;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) continue;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const where = placeOf(frame.url, frame.functionName);
    const fn = frame.url === '' ? '' : `${frame.functionName || '(anonymous)'}:${frame.lineNumber + 1}`;
    add(byFile, where, where, '', us);
    add(byFunction, `${where} ${fn}`, where, fn, us);
  }
  return { busyUs, idleUs, byFile: sorted(byFile), byFunction: sorted(byFunction) };
}

/** Reads and sums a `.cpuprofile` file (see {@link summarizeProfile}). */
export async function readProfile(file: string, window?: TimeWindow): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, window);
}

/** Several processes' summaries as one (the workers of a pool). */
export function mergeSummaries(summaries: readonly ProfileSummary[]): ProfileSummary {
  const byFile = new Map<string, ProfileEntry>();
  const byFunction = new Map<string, ProfileEntry>();
  for (const s of summaries) {
    for (const e of s.byFile) add(byFile, e.where, e.where, '', e.us);
    for (const e of s.byFunction) add(byFunction, `${e.where} ${e.fn}`, e.where, e.fn, e.us);
  }
  const sum = (pick: (s: ProfileSummary) => number): number => summaries.reduce((n, s) => n + pick(s), 0);
  return {
    busyUs: sum((s) => s.busyUs),
    idleUs: sum((s) => s.idleUs),
    byFile: sorted(byFile),
    byFunction: sorted(byFunction),
  };
}

/**
 * The process id in a profile's file name: the bench preload's `CPU.12345.cpuprofile`, or
 * `--cpu-prof`'s `CPU.20261205.230101.12345.0.001.cpuprofile`.
 */
export function profilePid(fileName: string): number | undefined {
  const match = /^CPU\.(?:\d+\.\d+\.)?(\d+)(?:\.\d+\.\d+)?\.cpuprofile$/.exec(fileName);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
