// This file implements the relay micro-bench's report from the perspective of someone comparing
// the supervisor's cost per relayed request with the goal (≤ 30 µs): one line per
// variant, then the JSON record next to the main bench's.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { line, rps, us, type Column } from '../table-format.ts';
import type { SocketFloor } from './socket-floor.ts';

/** The supervisor CPU per relayed request issue 13 asks for, in µs. */
export const SUPERVISOR_GOAL_US = 30;

/** One variant's result. */
export interface RelayRow {
  readonly id: string;
  readonly label: string;
  /** Median of the slices' requests per second. */
  readonly rps: number;
  readonly requests: number;
  readonly errors: number;
  /** CPU per request in µs: the supervisor, its workers (and their children), the bench's client. */
  readonly supervisorUs: number;
  readonly workersUs: number;
  readonly clientUs: number;
  /** The supervisor's µs per request in each slice (how steady it was). */
  readonly sliceSupervisorUs: readonly number[];
}

const COLUMNS: readonly Column[] = [
  [32, 'left'],
  [8, 'right'],
  [7, 'right'],
  [11, 'right'],
  [9, 'right'],
  [8, 'right'],
  [0, 'left'],
];

function floorLines(floor: SocketFloor | undefined): string[] {
  if (floor === undefined) return [];
  return [
    '',
    `calibration: two Node processes playing ping-pong over a socketpair (${floor.roundTrips} round trips): ${floor.echoUs.toFixed(1)} µs`,
    `  in the answering process and ${floor.pingUs.toFixed(1)} µs in the sender per round trip (one read, one write, one wake-up each);`,
    '  the supervisor makes two such round trips per request (web server, worker)',
  ];
}

/** The report as text. */
export function formatRelay(
  rows: readonly RelayRow[],
  failures: readonly string[],
  floor?: SocketFloor,
): string {
  const cores = availableParallelism();
  return [
    `cgi-fpm relay micro-bench: ${cores} CPUs; a FastCGI client -> supervisor (2 workers) over 8 kept-alive connections`,
    `  CPU per request in µs; supervisor goal ≤ ${SUPERVISOR_GOAL_US} µs (issue 13)`,
    '',
    line(['variant', 'req/s', 'errors', 'supervisor', 'workers', 'client', 'supervisor per slice'], COLUMNS),
    ...rows.map((r) =>
      line(
        [
          r.label,
          rps(r.rps),
          String(r.errors),
          us(r.supervisorUs),
          us(r.workersUs),
          us(r.clientUs),
          r.sliceSupervisorUs.map(us).join(' '),
        ],
        COLUMNS,
      ),
    ),
    ...floorLines(floor),
    ...failures.map((f) => `FAILED: ${f}`),
  ].join('\n');
}

/** bench/results/ in the repository (this runs from dist-bench/bench/relay/). */
const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

/** Writes `relay-<timestamp>.json`; resolves with its path. */
export async function writeRelayResults(
  startedAt: Date,
  rows: readonly RelayRow[],
  failures: readonly string[],
  floor: SocketFloor | undefined,
): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `relay-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const machine = {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
  };
  await writeFile(
    file,
    `${JSON.stringify({ startedAt: startedAt.toISOString(), machine, goalUs: SUPERVISOR_GOAL_US, rows, floor: floor ?? null, failures }, null, 2)}\n`,
  );
  return file;
}
