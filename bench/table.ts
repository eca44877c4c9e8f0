// This file implements the printed report from the perspective of someone reading one bench
// run: a header saying what ran where (and whether the machine was busy), one line per target
// (or its error), the ratios with the issues' goals and both rows' backend CPU, then where the
// CPU of a request goes and what each row's processes hold in memory.
import type { ForkCost } from './fork-cost.ts';
import type { Versions } from './interpreters.ts';
import type { Row, Settings } from './measure.ts';
import { cpuPerRequest } from './per-request.ts';
import type { Ratio } from './ratios.ts';
import { sliceSpread } from './rounds.ts';
import { line, ms, rps, times, us, type Column } from './table-format.ts';
import { cpuLines, memoryLines } from './table-sides.ts';

/** What the header says about the machine and the tools. */
export interface RunInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly versions: Versions;
  readonly settings: Settings;
  /** Share of all CPUs busy in the second before the servers started (others' work; 0 to 1). */
  readonly busyAtStart: number;
  /** How CPU was read: `"cgroup v2 per server, split by /proc"` or `"/proc only"`. */
  readonly cpuMethod: string;
  /** What one fork and exit of python costs on this machine (issue 16's rows depend on it). */
  readonly forkCost?: ForkCost | undefined;
}

/** Above this busy share before the start, the header warns that the rows are skewed. */
const BUSY_WARNING = 0.2;

/** Above this fastest/slowest slice quotient, a row's slices get a warning of their own. */
const SPREAD_WARNING = 1.5;

const ROW_COLUMNS: readonly Column[] = [
  [22, 'left'],
  [9, 'left'],
  [8, 'left'],
  [9, 'right'],
  [10, 'right'],
  [10, 'right'],
  [7, 'right'],
];
const RATIO_COLUMNS: readonly Column[] = [
  [34, 'left'],
  [8, 'right'],
  [6, 'right'],
  [26, 'left'],
  [0, 'left'],
];

function rowLines(row: Row): string[] {
  const head = [row.target.label, row.target.backend, row.target.runtime ?? row.target.wsgi ?? '-'];
  const log = row.log.map((l) => `    ${l}`);
  if (!row.ok) return [`${line(head, ROW_COLUMNS)} FAILED: ${row.error}`, ...log];
  const r = row.result;
  const cells = [...head, rps(r.rps), ms(r.p50Ms), ms(r.p99Ms), String(r.errorTotal)];
  return [line(cells, ROW_COLUMNS), ...(r.errorTotal > 0 ? log : [])];
}

/** A warning for each row whose slices ran at very different speeds. */
function spreadLines(rows: readonly Row[]): string[] {
  const lines: string[] = [];
  for (const row of rows) {
    if (!row.ok) continue;
    const spread = sliceSpread(row.slices);
    if (!(spread > SPREAD_WARNING)) continue;
    const values = row.slices.map((r) => r.rps);
    lines.push(
      `  WARNING: ${row.target.label}: slices from ${rps(Math.min(...values))} to ${rps(Math.max(...values))} req/s (${times(spread)}): the machine's speed changed during the run`,
    );
  }
  return lines;
}

/** `747 / 333 µs`: both rows' backend CPU per request, when read. */
function backendCpu(r: Ratio, rows: readonly Row[]): string {
  const of = (id: string): string => {
    const row = rows.find((x) => x.target.id === id);
    const cpu = row?.ok === true ? cpuPerRequest(row.cpu) : undefined;
    return cpu === undefined ? '-' : us(cpu.backend);
  };
  const top = of(r.spec.numerator);
  const bottom = of(r.spec.denominator);
  return top === '-' && bottom === '-' ? '' : `${top} / ${bottom} µs`;
}

function ratioLine(r: Ratio, rows: readonly Row[]): string {
  const value = r.value === undefined ? '-' : times(r.value);
  const goal = r.spec.goal === undefined ? '' : `≥ ${r.spec.goal}×`;
  const verdict = r.missing ?? (r.met === undefined ? '' : r.met ? 'met' : 'NOT met');
  return line([r.spec.label, value, goal, verdict, backendCpu(r, rows)], RATIO_COLUMNS);
}

function header(info: RunInfo): string[] {
  const { settings, versions, busyAtStart } = info;
  const load = settings.load;
  return [
    `cgi-fpm bench: ${info.cpus} CPUs (${info.cpuModel}), ${(busyAtStart * 100).toFixed(0)}% busy just before the servers started`,
    `  ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ')}`,
    `  ${settings.workers} workers per target; wrk -t${load.threads} -c${load.connections} -d${load.durationS}s --timeout ${load.timeoutS}s --latency after a ${settings.warmupS} s warm-up; nginx (Apache for mod_wsgi) on 127.0.0.1`,
    `  ${settings.rounds} interleaved rounds (A B C, C B A, …): a row is the median of its slices, a ratio the median of its per-round ratios`,
    `  ${
      info.forkCost === undefined
        ? 'fork cost: not measured'
        : `fork cost: fork + _exit of an idle ${(info.forkCost.rssKb / 1024).toFixed(1)} MiB python: parent ${info.forkCost.parentUs.toFixed(0)} µs + child ${info.forkCost.childUs.toFixed(0)} µs CPU (bare metal: ~100 µs)`
    }`,
    ...(busyAtStart > BUSY_WARNING
      ? ['  WARNING: other processes were using the CPUs; they slow every row down']
      : []),
  ];
}

/** The whole report as text. */
export function formatTable(rows: readonly Row[], ratios: readonly Ratio[], info: RunInfo): string {
  return [
    ...header(info),
    '',
    line(['target', 'backend', 'runtime', 'req/s', 'p50', 'p99', 'errors'], ROW_COLUMNS),
    ...rows.flatMap(rowLines),
    ...spreadLines(rows),
    '',
    line(['ratio of req/s', 'value', 'goal', '', 'backend CPU/req'], RATIO_COLUMNS),
    ...ratios.map((r) => ratioLine(r, rows)),
    '',
    ...cpuLines(rows, info.cpuMethod),
    '',
    ...memoryLines(rows),
  ].join('\n');
}
