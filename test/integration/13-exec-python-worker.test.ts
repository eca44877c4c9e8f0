// This file implements issue 13's memory item for `exec` pools from the perspective of an
// operator reading /proc: an exec pool's workers are small python processes (worker.py) that
// start each script with posix_spawn, so no Node process exists anywhere in the pool's worker
// tree, idle or while a script runs, and the script's parent is that python worker; with
// `exec.worker = "node"` the pool keeps the Node worker.
import { readlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childPids, residentBytes } from './helpers/processes.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

/** Prints the program its parent (the worker) runs: /proc/PPID/exe. */
const PARENT_SH = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
readlink "/proc/$PPID/exe"
`;

const SLOTS = 4;

/** The program `pid` runs (`/proc/PID/exe`), or '' when it is gone. */
function exeOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${String(pid)}/exe`);
  } catch {
    return '';
  }
}

/** `pid`'s descendants, depth first. */
function descendants(pid: number): number[] {
  return childPids(pid).flatMap((child) => [child, ...descendants(child)]);
}

/** True when `exe` is a Node binary (node, nodejs, node20…). */
function isNode(exe: string): boolean {
  return basename(exe).startsWith('node') || exe === process.execPath;
}

describe.each([
  { worker: undefined, label: 'default (python)' },
  { worker: 'node', label: 'exec.worker = "node"' },
])('13: an exec pool of $label', ({ worker }) => {
  const stack = useStack({
    pool: { pm: { max_children: SLOTS }, ...(worker === undefined ? {} : { 'exec.worker': worker }) },
  });

  it(worker === 'node' ? 'runs Node workers' : 'has no Node process in its worker tree, idle or busy', async () => {
    const { daemon, root } = stack();
    await writeFile(join(root, 'parent.sh'), PARENT_SH, { mode: 0o755 });
    await waitUntil('every slot started', () => childPids(daemon.pid).length >= SLOTS, EVENT_TIMEOUT_MS);
    const workers = childPids(daemon.pid);
    const res = await stack().request('/parent.sh');
    expect(res.status).toBe(200);
    const parent = res.text.trim();
    if (worker === 'node') {
      expect(workers.every((pid) => isNode(exeOf(pid)))).toBe(true);
      expect(isNode(parent)).toBe(true);
      return;
    }
    // Idle: the workers and everything under them.
    const tree = workers.flatMap((pid) => [pid, ...descendants(pid)]);
    const exes = tree.map(exeOf).filter((exe) => exe !== '');
    expect(exes.length).toBeGreaterThanOrEqual(SLOTS);
    expect(exes.filter(isNode)).toEqual([]);
    expect(exes.every((exe) => basename(exe).includes('python'))).toBe(true);
    // Busy: the script's parent is the python worker itself (no Node hop, no shim).
    expect(basename(parent)).toMatch(/python/u);
    // What the pool costs, for the record (the bound is the bench's, not a test's).
    const rss = workers.reduce((sum, pid) => sum + (residentBytes(pid) ?? 0), 0);
    expect(rss).toBeGreaterThan(0);
  });
});
