// This file implements the per-request figures from the perspective of the report: a row's CPU
// per side divided by its requests, in µs, and its processes' memory grouped by side, in MiB;
// the table and the JSON print the same numbers.
import type { MemoryTotal, ProcessMemory } from './memory.ts';
import { totalMemory } from './memory.ts';
import type { RowCpu } from './measure.ts';
import { SIDES, type Side } from './sides.ts';

/** CPU per request, in µs. */
export interface CpuPerRequest {
  readonly sides: Readonly<Record<Side, number>>;
  /** manager + workers + runtime: everything behind the front. */
  readonly backend: number;
  /** Every side. */
  readonly total: number;
  /** Cgroup CPU no side claims, per request (a check: near 0). */
  readonly unattributed: number;
}

/** `cpu`'s µs per request; undefined without requests. */
export function cpuPerRequest(cpu: RowCpu | undefined): CpuPerRequest | undefined {
  if (cpu === undefined || cpu.requests <= 0) return undefined;
  const per = (us: number): number => us / cpu.requests;
  const sides = Object.fromEntries(SIDES.map((s) => [s, per(cpu.split.us[s])])) as Record<Side, number>;
  const backend = sides.manager + sides.workers + sides.runtime;
  return { sides, backend, total: backend + sides.front, unattributed: per(cpu.split.unattributedUs) };
}

/** Memory of a row's processes: the backend's in all, and each side's. */
export interface MemoryBySide {
  /** Every process behind the front. */
  readonly backend: MemoryTotal;
  readonly sides: Readonly<Record<Side, MemoryTotal>>;
}

/** Groups `memory` by side. */
export function memoryBySide(memory: readonly ProcessMemory[]): MemoryBySide {
  const sides = Object.fromEntries(SIDES.map((s) => [s, totalMemory(memory, (p) => p.side === s)])) as Record<
    Side,
    MemoryTotal
  >;
  return { backend: totalMemory(memory, (p) => p.side !== 'front'), sides };
}

/** KiB as MiB with one decimal. */
export function mib(kb: number): string {
  return (kb / 1024).toFixed(1);
}
