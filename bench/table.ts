// This file implements the printed table from the perspective of someone reading one bench
// run: a header saying what ran where (and whether the machine was busy), one line per target
// (or its error), then the ratios with issue 3's goals.
import type { Versions } from './interpreters.ts';
import type { Row, Settings } from './measure.ts';
import type { Ratio } from './ratios.ts';
import { sliceSpread } from './rounds.ts';

/** What the header says about the machine and the tools. */
export interface RunInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly versions: Versions;
  readonly settings: Settings;
  /** Share of all CPUs busy in the second before the servers started (others' work; 0 to 1). */
  readonly busyAtStart: number;
}

/** Above this busy share before the start, the header warns that the rows are skewed. */
const BUSY_WARNING = 0.2;

/** Above this fastest/slowest slice quotient, a row's slices get a warning of their own. */
const SPREAD_WARNING = 1.5;

/** A column: its width and which side it is aligned to. */
type Column = readonly [width: number, align: 'left' | 'right'];

const ROW_COLUMNS: readonly Column[] = [
  [18, 'left'],
  [9, 'left'],
  [8, 'left'],
  [9, 'right'],
  [10, 'right'],
  [10, 'right'],
  [7, 'right'],
];
const RATIO_COLUMNS: readonly Column[] = [
  [32, 'left'],
  [8, 'right'],
  [11, 'right'],
  [0, 'left'],
];

function rps(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function ms(value: number): string {
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 100) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(0)} ms`;
}

function times(value: number): string {
  return value >= 10 ? `${value.toFixed(1)}×` : `${value.toFixed(2)}×`;
}

function line(cells: readonly string[], columns: readonly Column[]): string {
  return cells
    .map((cell, i) => {
      const [width, align] = columns[i] ?? [0, 'left'];
      return align === 'left' ? cell.padEnd(width) : cell.padStart(width);
    })
    .join(' ')
    .trimEnd();
}

function rowLines(row: Row): string[] {
  const head = [row.target.label, row.target.backend, row.target.runtime ?? '-'];
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

function ratioLine(r: Ratio): string {
  const value = r.value === undefined ? '-' : times(r.value);
  const goal = r.spec.goal === undefined ? '' : `≥ ${r.spec.goal}×`;
  const verdict = r.missing ?? (r.met === undefined ? '' : r.met ? 'met' : 'NOT met');
  return line([r.spec.label, value, goal, verdict], RATIO_COLUMNS);
}

function header(info: RunInfo): string[] {
  const { settings, versions, busyAtStart } = info;
  const load = settings.load;
  return [
    `cgi-fpm bench: ${info.cpus} CPUs (${info.cpuModel}), ${(busyAtStart * 100).toFixed(0)}% busy just before the servers started`,
    `  ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ')}`,
    `  ${settings.workers} workers per target; wrk -t${load.threads} -c${load.connections} -d${load.durationS}s --timeout ${load.timeoutS}s --latency after a ${settings.warmupS} s warm-up; nginx on 127.0.0.1`,
    `  ${settings.rounds} interleaved rounds (A B C, C B A, …): a row is the median of its slices, a ratio the median of its per-round ratios`,
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
    line(['ratio of req/s', 'value', 'goal', ''], RATIO_COLUMNS),
    ...ratios.map(ratioLine),
  ].join('\n');
}
