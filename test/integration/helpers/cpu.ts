// This file implements CPU accounting from the perspective of a test that must show a process
// is (nearly) idle: user + system time from Linux `/proc/<pid>/stat`, in seconds.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** `sysconf(_SC_CLK_TCK)`: the unit of `utime`/`stime` in `/proc/<pid>/stat` (100 on Linux). */
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/**
 * CPU time `pid` has used so far (user + system, its own threads only), in seconds.
 *
 * @throws Error when the process does not exist
 */
export function cpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the command name: state is field 3, utime field 14, stime field 15.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / clockTicks();
}
