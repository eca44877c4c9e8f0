// This file implements the machine's fork cost from the perspective of the report: what one
// fork() and _exit() of the bench's python interpreter costs in CPU, parent and child, so a
// reader can tell an `isolation = "fork"` row slowed by the machine (virtual machines that
// emulate page tables make fork and exit many times dearer) from one slowed by cgi-fpm.
import { runCommand } from './run-command.ts';

/** CPU per fork of an idle python interpreter, in µs. */
export interface ForkCost {
  /** The parent's CPU per fork (copying the page tables). */
  readonly parentUs: number;
  /** The child's CPU per fork, from its start to its `_exit` (tearing them down). */
  readonly childUs: number;
  /** The interpreter's resident size while it forks, in KiB. */
  readonly rssKb: number;
}

const FORKS = 100;

const PROBE = `
import os, resource, time
t = time.process_time()
for _ in range(${FORKS}):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
parent = time.process_time() - t
c = resource.getrusage(resource.RUSAGE_CHILDREN)
print(parent, c.ru_utime + c.ru_stime, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
`;

/** Parses the probe's line: parent seconds, children seconds, max RSS KiB. */
export function parseForkCost(line: string, forks: number = FORKS): ForkCost {
  const [parent, children, rss] = line.trim().split(/\s+/).map(Number);
  if (parent === undefined || children === undefined || rss === undefined || [parent, children, rss].some(Number.isNaN)) {
    throw new Error(`bench: fork cost: unreadable probe output: ${JSON.stringify(line)}`);
  }
  return { parentUs: (parent / forks) * 1e6, childUs: (children / forks) * 1e6, rssKb: rss };
}

/** Runs the probe with `python`; undefined when it cannot run (the report says so). */
export async function measureForkCost(python: string): Promise<ForkCost | undefined> {
  try {
    const { stdout } = await runCommand(python, ['-c', PROBE], { timeoutMs: 60_000 });
    return parseForkCost(stdout);
  } catch {
    return undefined;
  }
}
