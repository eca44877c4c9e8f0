// This file implements the tests of CPU per side from the perspective of a row's CPU columns:
// each process's CPU between two reads goes to its side, a process born in between counts
// whole, a reused PID is another process, and what only the cgroup saw goes to the server's
// remainder side (or is reported as unattributed).
import { describe, expect, it } from 'vitest';
import { addSplits, cpuBetween, type CpuSnapshot, type ProcPoint } from './cpu-sample.ts';

/** A process at one read; CPU given in 10 ms steps to keep the numbers short. */
function point(server: number, side: ProcPoint['side'], ownTicks: number, childTicks = 0): ProcPoint {
  return { server, side, ownUs: ownTicks * 10_000, childUs: childTicks * 10_000 };
}

function snapshot(cgroupUs: (number | undefined)[], procs: Record<string, ProcPoint>): CpuSnapshot {
  return { cgroupUs, procs: new Map(Object.entries(procs)) };
}

// Server 0 is nginx (no remainder side), server 1 a cgi-fpm daemon (remainder: runtime).
const WATCHES = [{}, { remainder: 'runtime' as const }];

describe('bench CPU per side', () => {
  it('gives each process its CPU in between, and the cgroup CPU no live process shows to runtime', () => {
    const before = snapshot([1_000_000, 5_000_000], {
      '1:10': point(0, 'front', 100),
      '2:20': point(1, 'manager', 50),
      '3:30': point(1, 'workers', 70, 5),
    });
    const after = snapshot([1_300_000, 7_000_000], {
      '1:10': point(0, 'front', 130),
      '2:20': point(1, 'manager', 60),
      '3:30': point(1, 'workers', 150, 9),
      '4:40': point(1, 'runtime', 20), // born in between
    });
    const split = cpuBetween(WATCHES, before, after);
    // manager 10 steps, workers 80, runtime 20 live + the cgroup's rest.
    expect(split.us).toEqual({
      front: 300_000,
      manager: 100_000,
      workers: 800_000,
      runtime: 200_000 + 900_000,
    });
    expect(split.unattributedUs).toBe(0);
  });

  it('reports the cgroup CPU of a server without a remainder side as unattributed', () => {
    const before = snapshot([0], { '1:10': point(0, 'front', 0) });
    const after = snapshot([250_000], { '1:10': point(0, 'front', 20) });
    expect(cpuBetween([{}], before, after).unattributedUs).toBe(50_000);
  });

  it('counts a reused PID as a new process', () => {
    const before = snapshot([undefined], { '5:100': point(0, 'workers', 900) });
    const after = snapshot([undefined], { '5:200': point(0, 'workers', 3) });
    expect(cpuBetween([{}], before, after).us.workers).toBe(30_000);
  });

  it('without a cgroup, takes runtime children from the CPU the workers reaped', () => {
    const before = snapshot([undefined, undefined], { '3:30': point(1, 'workers', 10, 100) });
    const after = snapshot([undefined, undefined], { '3:30': point(1, 'workers', 12, 160) });
    const split = cpuBetween(WATCHES, before, after);
    expect(split.us.workers).toBe(20_000);
    expect(split.us.runtime).toBe(600_000);
  });

  it('leaves out processes that are not the target’s, but not their CPU from the cgroup total', () => {
    const before = snapshot([0], { '1:1': point(0, 'front', 0), '2:2': point(0, undefined, 0) });
    const after = snapshot([300_000], { '1:1': point(0, 'front', 10), '2:2': point(0, undefined, 20) });
    const split = cpuBetween([{}], before, after);
    expect(split.us.front).toBe(100_000);
    expect(split.unattributedUs).toBe(0);
  });

  it('adds splits side by side', () => {
    const a = { us: { front: 1, manager: 2, workers: 3, runtime: 4 }, unattributedUs: 5 };
    expect(addSplits([a, a])).toEqual({
      us: { front: 2, manager: 4, workers: 6, runtime: 8 },
      unattributedUs: 10,
    });
  });
});
