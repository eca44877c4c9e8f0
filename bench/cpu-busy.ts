// This file implements the "is the machine quiet?" check from the perspective of a reader who
// must know whether other work shared the CPUs: the busy share of every CPU over a short
// sample, taken with the servers up and idle, right before the first row.
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

function totals(): { readonly idle: number; readonly all: number } {
  let idle = 0;
  let all = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    idle += t.idle;
    all += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, all };
}

/**
 * The share of CPU time (all CPUs together) spent busy during the next `sampleMs` milliseconds:
 * 0 is idle, 1 is every CPU fully used.
 */
export async function cpuBusy(sampleMs: number): Promise<number> {
  const before = totals();
  await sleep(sampleMs);
  const after = totals();
  const all = after.all - before.all;
  return all <= 0 ? 0 : 1 - (after.idle - before.idle) / all;
}
