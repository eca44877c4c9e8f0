// This file implements the bench table's tests from the perspective of someone reading one run:
// the rows, and the warnings that tell when the machine changed speed while it ran.
import { describe, expect, it } from 'vitest';
import type { MeasuredRow, Row } from './measure.ts';
import type { ProcessMemory } from './memory.ts';
import { computeRatios } from './ratios.ts';
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
  return { target, url: 'http://127.0.0.1/', log: [], ok: true, result: combineSlices(slices), slices, cpu: undefined, memory: [] };
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
  cpuMethod: 'test',
};

/** A row that also read its CPU (µs in all per side, over `requests`) and its processes' memory. */
function withSides(id: string, rps: number, us: [number, number, number, number], memory: ProcessMemory[]): MeasuredRow {
  const base = row(id, [rps, rps]) as MeasuredRow;
  const [front, manager, workers, runtime] = us;
  return { ...base, cpu: { split: { us: { front, manager, workers, runtime }, unattributedUs: 0 }, requests: 1000 }, memory };
}

function proc(side: ProcessMemory['side'], rssMb: number, pid = 1, depth = 1, server = 'x'): ProcessMemory {
  return { pid, server, side, depth, command: 'x', rssKb: rssMb * 1024, pssKb: rssMb * 512, ussKb: rssMb * 256 };
}

describe('bench table', () => {
  it("prints each row's CPU per request by side, and both rows' backend CPU beside a ratio", () => {
    const rows = [
      withSides('python-persistent', 1000, [100_000, 200_000, 500_000, 250_000], []),
      withSides('python-wsgi-cgi', 2000, [150_000, 0, 330_000, 0], []),
    ];
    const text = formatTable(rows, computeRatios(rows), info);
    expect(text).toMatch(/^python persistent +nginx 100 +200 +500 +250 +950 +1050$/m);
    expect(text).toMatch(/^python mod_wsgi CGI +apache 150 +0 +330 +0 +330 +480$/m);
    expect(text).toMatch(/^python persistent \/ mod_wsgi CGI +0\.50× +≥ 1× NOT met +950 \/ 330 µs$/m);
  });

  it('prints the memory of the processes behind the front, and the front once', () => {
    const memory = [proc('front', 6, 1), proc('front', 4, 2), proc('manager', 60, 3), proc('workers', 50, 4), proc('workers', 52, 5), proc('runtime', 9, 6)];
    const text = formatTable([withSides('python-persistent', 1000, [0, 0, 0, 0], memory)], [], info);
    expect(text).toMatch(/^python persistent +4 +171\.0 +85\.5 +42\.8 manager 60\.0 · workers 50\.0 52\.0 · runtime 9\.0$/m);
    expect(text).toMatch(/^\(front: nginx\) +2 +10\.0 +5\.0 +2\.5 6\.0 4\.0$/m);
  });

  it("prints a fork row's request children (the deepest cgi-fpm processes) per child, PSS beside RSS", () => {
    const memory = [
      proc('manager', 60, 3, 0, 'cgi-fpm'),
      proc('workers', 50, 4, 1, 'cgi-fpm'),
      proc('runtime', 12, 5, 2, 'cgi-fpm'),
      proc('runtime', 10, 6, 3, 'cgi-fpm'),
      proc('runtime', 8, 7, 3, 'cgi-fpm'),
    ];
    const text = formatTable([withSides('python-fork', 1000, [0, 0, 0, 0], memory)], [], info);
    expect(text).toMatch(/^\(request child\) +2 +9\.0 +4\.5 +2\.3 per child/m);
    const persistent = formatTable([withSides('python-persistent', 1000, [0, 0, 0, 0], memory)], [], info);
    expect(persistent).not.toContain('(request child)');
  });

  it('warns about a row whose slices ran at very different speeds, not about steady ones', () => {
    const text = formatTable([row('node-exec', [35, 36, 34, 35]), row('node-persistent', [745, 897, 2016, 2395])], [], info);
    expect(text).toMatch(/^node persistent +cgi-fpm +node +1457 /m);
    expect(text).toContain(
      "  WARNING: node persistent: slices from 745 to 2395 req/s (3.21×): the machine's speed changed during the run",
    );
    expect(text).not.toContain('WARNING: node exec');
  });
});
