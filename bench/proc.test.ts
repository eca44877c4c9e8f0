// This file implements the tests of /proc parsing from the perspective of the CPU and memory
// columns: the right fields read from stat lines whose command names hold spaces and
// parentheses, trees walked with their depths, smaps_rollup's sets summed.
import { describe, expect, it } from 'vitest';
import { parseProcStat, parseSmapsRollup, processCpuUs, processTree, threadCpuUs, type ProcStat } from './proc.ts';

/** A stat line as Linux 6.x prints it; fields 14-17 are utime stime cutime cstime, 22 starttime. */
const STAT =
  '4242 (node (worker) x) S 4200 4200 4200 0 -1 4194560 1234 0 0 0 150 50 30 12 20 0 11 0 98765 1081344000 12345 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0';

function stat(pid: number, ppid: number): ProcStat {
  return { pid, ppid, state: 'S', ownTicks: 0, childTicks: 0, startTicks: pid };
}

describe('bench /proc', () => {
  it('reads own and children CPU, parent and start time after the last parenthesis', () => {
    expect(parseProcStat(4242, STAT)).toEqual({
      pid: 4242,
      ppid: 4200,
      state: 'S',
      ownTicks: 200,
      childTicks: 42,
      startTicks: 98765,
    });
  });

  it('refuses a line too short to hold the fields', () => {
    expect(() => parseProcStat(1, '1 (x) S 0')).toThrow(/short stat line/);
  });

  it('walks a tree from its root with each member at its depth, leaving other trees out', () => {
    const all = [stat(10, 1), stat(11, 10), stat(12, 10), stat(13, 12), stat(20, 1), stat(21, 20)];
    expect(processTree(10, all).map((m) => [m.stat.pid, m.depth])).toEqual([
      [10, 0],
      [11, 1],
      [12, 1],
      [13, 2],
    ]);
    expect(processTree(99, all)).toEqual([]);
  });

  it("reads a process's CPU exactly, all threads at least its main thread, and nothing for a gone one", async () => {
    let spin = 0;
    for (let i = 0; i < 1e6; i++) spin += i;
    expect(spin).toBeGreaterThan(0);
    const all = await processCpuUs(process.pid);
    const main = await threadCpuUs(process.pid, process.pid);
    expect(main).toBeGreaterThan(0);
    expect(all).toBeGreaterThanOrEqual(main ?? Infinity);
    expect(await processCpuUs(2 ** 22 + 1)).toBeUndefined();
  });

  it('sums the unique set from the private pages of smaps_rollup', () => {
    const text = `00400000-7ffd0000 ---p 00000000 00:00 0    [rollup]
Rss:               51200 kB
Pss:               20480 kB
Pss_Anon:          10000 kB
Shared_Clean:      30000 kB
Shared_Dirty:          0 kB
Private_Clean:      1200 kB
Private_Dirty:     20000 kB
`;
    expect(parseSmapsRollup(text)).toEqual({ rssKb: 51200, pssKb: 20480, ussKb: 21200 });
    expect(() => parseSmapsRollup('Private_Dirty: 1 kB\n')).toThrow(/Rss\/Pss/);
  });
});
