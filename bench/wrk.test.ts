import { describe, expect, it } from 'vitest';
import { parseWrk } from './wrk.ts';

/** A report as wrk 4.1 prints it with --latency. */
const REPORT = `Running 2s test @ http://127.0.0.1:8080/hello.js
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.54ms    3.16ms  35.05ms   88.47%
    Req/Sec   768.71    107.99     0.95k    66.88%
  Latency Distribution
     50%    3.97ms
     75%    5.10ms
     90%    7.20ms
     99%   12.80ms
  3075 requests in 2.00s, 528.52KB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1537.26
Transfer/sec:    264.20KB
`;

describe('parseWrk', () => {
  it('reads requests, duration, req/s, p50, p99 and every error count', () => {
    expect(parseWrk(REPORT)).toEqual({
      requests: 3075,
      durationS: 2,
      rps: 1537.26,
      p50Ms: 3.97,
      p99Ms: 12.8,
      errors: { http: 4, connect: 0, read: 2, write: 0, timeout: 1 },
      errorTotal: 7,
    });
  });

  it('reads latencies in microseconds and seconds', () => {
    const report = REPORT.replace('50%    3.97ms', '50%  850.00us').replace('99%   12.80ms', '99%    1.20s');
    const result = parseWrk(report);
    expect(result.p50Ms).toBeCloseTo(0.85);
    expect(result.p99Ms).toBe(1200);
  });

  it('counts no errors when wrk printed none', () => {
    const report = REPORT.replace(/ {2}Socket errors.*\n/, '').replace(/ {2}Non-2xx.*\n/, '');
    expect(parseWrk(report).errorTotal).toBe(0);
  });

  it('names the missing line of a report that is not one', () => {
    expect(() => parseWrk('unable to connect to 127.0.0.1:8080 Connection refused')).toThrow(/no request count/);
  });
});
