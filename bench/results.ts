// This file implements the JSON record of a run from the perspective of whoever compares runs
// later: everything the table shows plus the raw wrk counts, every process's memory, the
// machine and the settings, in bench/results/<timestamp>.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MeasuredRow, Row } from './measure.ts';
import { cpuPerRequest, memoryBySide } from './per-request.ts';
import type { Ratio } from './ratios.ts';
import type { RunInfo } from './table.ts';

/** bench/results/ in the repository (the bench runs from dist-bench/bench/). */
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

/** CPU per request of each side (µs) and the memory of every process (KiB). */
function sidesJson(row: MeasuredRow): Record<string, unknown> {
  const cpu = cpuPerRequest(row.cpu);
  return {
    cpuUsPerRequest:
      cpu === undefined
        ? null
        : { ...cpu.sides, backend: cpu.backend, total: cpu.total, unattributed: cpu.unattributed },
    cpuRequests: row.cpu?.requests ?? 0,
    memoryKb: { ...memoryBySide(row.memory), processes: row.memory },
  };
}

function rowJson(row: Row): Record<string, unknown> {
  const { target, url } = row;
  const head = {
    id: target.id,
    label: target.label,
    backend: target.backend,
    runtime: target.runtime ?? null,
    wsgi: target.wsgi ?? null,
    url,
  };
  if (!row.ok) return { ...head, ok: false, error: row.error, backendLog: row.log };
  const r = row.result;
  return {
    ...head,
    ok: true,
    rps: r.rps,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errorTotal,
    errorCounts: r.errors,
    requests: r.requests,
    durationS: r.durationS,
    sliceRps: row.slices.map((slice) => slice.rps),
    ...sidesJson(row),
    backendLog: row.log,
  };
}

function ratioJson(r: Ratio): Record<string, unknown> {
  const { id, numerator, denominator, goal } = r.spec;
  return {
    id,
    numerator,
    denominator,
    value: r.value ?? null,
    goal: goal ?? null,
    met: r.met ?? null,
    missing: r.missing ?? null,
  };
}

/**
 * Writes the run as JSON.
 *
 * @returns the file's absolute path
 */
export async function writeResults(
  startedAt: Date,
  rows: readonly Row[],
  ratios: readonly Ratio[],
  info: RunInfo,
): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const record = {
    startedAt: startedAt.toISOString(),
    machine: {
      cpus: info.cpus,
      cpuModel: info.cpuModel,
      platform: process.platform,
      arch: process.arch,
      busyAtStart: info.busyAtStart,
      forkCost: info.forkCost ?? null,
    },
    cpuMethod: info.cpuMethod,
    versions: info.versions,
    settings: info.settings,
    rows: rows.map(rowJson),
    ratios: ratios.map(ratioJson),
  };
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
