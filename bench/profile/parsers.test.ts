// This file implements the tests of the profile run's readers from the perspective of the
// numbers in docs/PERFORMANCE.md: V8 samples summed by source file (only those in the load's
// window), strace's table and perf's report parsed, perf's shares taken per process group.
import { describe, expect, it } from 'vitest';
import { mergeSummaries, placeOf, profilePid, summarizeProfile, type CpuProfile } from './cpuprofile.ts';
import { parsePerfReport, sharesOf } from './perf.ts';
import { parseStraceSummary } from './strace.ts';

const frame = (functionName: string, url: string, lineNumber = 0): CpuProfile['nodes'][number]['callFrame'] => ({
  functionName,
  url,
  lineNumber,
});

const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(idle)', '') },
    { id: 2, callFrame: frame('onRecord', 'file:///repo/dist/supervisor/connection.js', 112) },
    { id: 3, callFrame: frame('writev', '') },
    { id: 4, callFrame: frame('(garbage collector)', '') },
  ],
  startTime: 1000,
  samples: [2, 3, 3, 1, 4, 3],
  timeDeltas: [100, 100, 100, 500, 100, 100],
};

describe('bench profile readers', () => {
  it('names where code lives: our sources, node modules, packages, V8 and native frames', () => {
    expect(placeOf('file:///w/bench/dist/supervisor/pool.js', 'dispatch')).toBe('src/supervisor/pool.ts');
    expect(placeOf('file:///w/bench/dist-bench/bench/relay/null-worker.js', 'serve')).toBe('src/bench/relay/null-worker.ts');
    expect(placeOf('file:///w/node_modules/pino/lib/tools.js', 'write')).toBe('pino');
    expect(placeOf('file:///w/node_modules/@scope/pkg/x.js', 'f')).toBe('@scope/pkg');
    expect(placeOf('node:internal/streams/writable', 'clearBuffer')).toBe('node:internal/streams/writable');
    expect(placeOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(placeOf('', 'writev')).toBe('(native) writev');
  });

  it('sums self time by file and function, idle apart, within the load window', () => {
    const all = summarizeProfile(PROFILE);
    expect(all.busyUs).toBe(500);
    expect(all.idleUs).toBe(500);
    expect(all.byFile[0]).toEqual({ where: '(native) writev', fn: '', us: 300 });
    expect(all.byFunction).toContainEqual({ where: 'src/supervisor/connection.ts', fn: 'onRecord:113', us: 100 });
    expect(all.byFile).toContainEqual({ where: '(garbage collector)', fn: '', us: 100 });
    // Sample times: 1100, 1200, 1300, 1800 (idle), 1900, 2000.
    const late = summarizeProfile(PROFILE, { fromUs: 1250, toUs: 1950 });
    expect(late.busyUs).toBe(200);
    expect(late.byFile.map((e) => e.where).sort()).toEqual(['(garbage collector)', '(native) writev']);
    expect(mergeSummaries([all, late]).busyUs).toBe(700);
  });

  it('reads the pid from either profile file name', () => {
    expect(profilePid('CPU.4242.cpuprofile')).toBe(4242);
    expect(profilePid('CPU.20261205.230101.4242.0.001.cpuprofile')).toBe(4242);
    expect(profilePid('perf.data')).toBeUndefined();
  });

  it('parses strace -c, errors column or not, without the total', () => {
    const text = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 60.00    0.006000           1      4000           writev
 30.00    0.003000           0      8016      8016 readlink
 10.00    0.001000           0      2000           read
------ ----------- ----------- --------- --------- ----------------
100.00    0.010000           0     14016      8016 total
`;
    expect(parseStraceSummary(text)).toEqual([
      { syscall: 'readlink', calls: 8016, errors: 8016, seconds: 0.003 },
      { syscall: 'writev', calls: 4000, errors: 0, seconds: 0.006 },
      { syscall: 'read', calls: 2000, errors: 0, seconds: 0.001 },
    ]);
  });

  it('parses perf report lines and takes shares within a group of processes', () => {
    const text = `# Overhead  Pid:Command  Shared Object
#
    30.00%  101:node     node
    10.00%  101:node     [kernel.kallsyms]
    20.00%  102:node     [JIT] tid 102
    20.00%  102:node     node
    20.00%  200:python3  python3.11
`;
    const lines = parsePerfReport(text);
    expect(lines[0]).toEqual({ percent: 30, keys: ['101:node', 'node'] });
    expect(sharesOf(lines, [101, 102])).toEqual([
      { percent: 62.5, keys: ['node'] },
      { percent: 25, keys: ['[JIT]'] },
      { percent: 12.5, keys: ['[kernel.kallsyms]'] },
    ]);
  });
});
