// This file implements the bench table's tests from the perspective of someone reading one run:
// the rows, and the warnings that tell when the machine changed speed while it ran.
import { describe, expect, it } from 'vitest';
import type { Row } from './measure.ts';
import { combineSlices } from './rounds.ts';
import { formatTable, type RunInfo } from './table.ts';
import { TARGETS } from './targets.ts';
import type { WrkResult } from './wrk.ts';

function slice(rps: number): WrkResult {
  const errors = { http: 0, connect: 0, read: 0, write: 0, timeout: 0 };
  return { requests: rps * 2, durationS: 2, rps, p50Ms: 1000 / rps, p99Ms: 4000 / rps, errors, errorTotal: 0 };
}

function row(id: string, rps: readonly number[]): Row {
  const target = TARGETS.find((t) => t.id === id);
  if (target === undefined) throw new Error(`no target ${id}`);
  const slices = rps.map(slice);
  return { target, url: 'http://127.0.0.1/', log: [], ok: true, result: combineSlices(slices), slices };
}

const info: RunInfo = {
  cpus: 2,
  cpuModel: 'test CPU',
  versions: { node: 'v20', python: '3.11', nginx: '1.22', wrk: '4.1', fcgiwrap: '1.1' },
  settings: {
    workers: 2,
    load: { threads: 2, connections: 8, durationS: 2, timeoutS: 10 },
    rounds: 4,
    warmupS: 2,
    probeTimeoutMs: 30_000,
  },
  busyAtStart: 0,
};

describe('bench table', () => {
  it('warns about a row whose slices ran at very different speeds, not about steady ones', () => {
    const text = formatTable([row('node-exec', [35, 36, 34, 35]), row('node-persistent', [745, 897, 2016, 2395])], [], info);
    expect(text).toMatch(/^node persistent +cgi-fpm +node +1457 /m);
    expect(text).toContain(
      "  WARNING: node persistent: slices from 745 to 2395 req/s (3.21×): the machine's speed changed during the run",
    );
    expect(text).not.toContain('WARNING: node exec');
  });
});
