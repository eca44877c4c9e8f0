// This file implements load generation from the perspective of one bench row: wrk against one
// loopback URL for a bounded time, and its report parsed into req/s, latency percentiles and
// error counts.
import { runCommand } from './run-command.ts';

/** How hard and how long wrk pushes. */
export interface WrkLoad {
  /** wrk threads (`-t`). */
  readonly threads: number;
  /** Open HTTP connections (`-c`). */
  readonly connections: number;
  /** Duration in seconds (`-d`). */
  readonly durationS: number;
  /** A request not answered within this many seconds counts as a timeout error (`--timeout`). */
  readonly timeoutS: number;
}

/** Errors wrk counted. */
export interface WrkErrors {
  /** Responses with status ≥ 400 (wrk's "Non-2xx or 3xx responses"). */
  readonly http: number;
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  /** Requests without a response within {@link WrkLoad.timeoutS}. */
  readonly timeout: number;
}

/** One wrk run, parsed. */
export interface WrkResult {
  /** Completed requests. */
  readonly requests: number;
  /** Measured duration, in seconds. */
  readonly durationS: number;
  /** Requests per second, as wrk reports it. */
  readonly rps: number;
  /** Median latency, in milliseconds. */
  readonly p50Ms: number;
  /** 99th percentile latency, in milliseconds. */
  readonly p99Ms: number;
  readonly errors: WrkErrors;
  /** Sum of every error count. */
  readonly errorTotal: number;
}

const TIME_UNITS_MS: Readonly<Record<string, number>> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** `"1.23ms"` → 1.23; wrk prints us, ms, s, m or h. */
function parseTimeMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  const unit = match?.[2];
  if (match?.[1] === undefined || unit === undefined)
    throw new Error(`wrk: unexpected time ${JSON.stringify(text)}`);
  return Number(match[1]) * (TIME_UNITS_MS[unit] ?? Number.NaN);
}

function capture(report: string, pattern: RegExp, what: string): string[] {
  const match = pattern.exec(report);
  if (match === null) throw new Error(`wrk: no ${what} in its report:\n${report}`);
  return match.slice(1);
}

/**
 * Parses wrk's `--latency` report.
 *
 * @throws Error when a required line (requests, Requests/sec, 50% or 99%) is missing
 */
export function parseWrk(report: string): WrkResult {
  const [requests = '', duration = ''] = capture(report, /(\d+) requests in ([\d.]+\w+),/, 'request count');
  const [rps = ''] = capture(report, /Requests\/sec:\s+([\d.]+)/, 'Requests/sec');
  const [p50 = ''] = capture(report, /^\s+50%\s+(\S+)\s*$/m, '50% latency');
  const [p99 = ''] = capture(report, /^\s+99%\s+(\S+)\s*$/m, '99% latency');
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(report);
  const http = /Non-2xx or 3xx responses: (\d+)/.exec(report);
  const errors: WrkErrors = {
    http: Number(http?.[1] ?? 0),
    connect: Number(socket?.[1] ?? 0),
    read: Number(socket?.[2] ?? 0),
    write: Number(socket?.[3] ?? 0),
    timeout: Number(socket?.[4] ?? 0),
  };
  return {
    requests: Number(requests),
    durationS: parseTimeMs(duration) / 1000,
    rps: Number(rps),
    p50Ms: parseTimeMs(p50),
    p99Ms: parseTimeMs(p99),
    errors,
    errorTotal: errors.http + errors.connect + errors.read + errors.write + errors.timeout,
  };
}

/**
 * Runs `wrk -tT -cC -dDs --timeout Ss --latency URL`; killed if it outlives its duration by
 * 20 s.
 *
 * @throws Error when wrk fails or its report cannot be parsed
 */
export async function runWrk(wrk: string, url: string, load: WrkLoad): Promise<WrkResult> {
  const args = [
    `-t${load.threads}`,
    `-c${load.connections}`,
    `-d${load.durationS}s`,
    `--timeout`,
    `${load.timeoutS}s`,
    '--latency',
    url,
  ];
  const { stdout } = await runCommand(wrk, args, { timeoutMs: (load.durationS + 20) * 1000 });
  return parseWrk(stdout);
}
