import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolConfig } from '../../config/schema.ts';
import { createLogger } from '../../log/logger.ts';
import { WorkerGroups } from './worker-groups.ts';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
});

/** A process of this test's own leading its own group: a python worker's runner stands in. */
async function runner(): Promise<ChildProcess> {
  const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  started.push(child);
  await once(child, 'spawn');
  return child;
}

const lines: string[] = [];
const log = createLogger({ output: { file: '/dev/null', write: (text) => { lines.push(text); }, reopen: () => undefined } });
const pool = { runtime: 'python', name: 'py' } as unknown as PoolConfig;

describe('WorkerGroups', () => {
  it("kills every runner group a python worker named (one per interpreter), the last one being the leader", async () => {
    const groups = new WorkerGroups(pool, log);
    const [first, second] = [await runner(), await runner()];
    groups.claim({ requestId: 1, pgid: first.pid, persistent: true }, process.pid, 1);
    groups.claim({ requestId: 2, pgid: second.pid, persistent: true }, process.pid, 2);
    expect(groups.runtimeLeader).toBe(second.pid);
    // Named again when a request runs in it: it leads again.
    groups.claim({ requestId: 3, pgid: first.pid, persistent: true }, process.pid, 3);
    expect(groups.runtimeLeader).toBe(first.pid);
    // Both count for the worker's memory (status), while they live.
    expect(groups.runtimeLeaders.sort()).toEqual([first.pid, second.pid].sort());
    const exits = [once(first, 'exit'), once(second, 'exit')];
    groups.killAll(process.pid);
    expect(await Promise.all(exits)).toEqual([[null, 'SIGKILL'], [null, 'SIGKILL']]);
    expect(groups.runtimeLeader).toBe(0);
    expect(groups.runtimeLeaders).toEqual([]);
  });

  it("keeps an exec worker's group for its scripts (scope worker) past every request's end, and kills it with the worker", async () => {
    const groups = new WorkerGroups({ runtime: 'exec', name: 'sh' } as unknown as PoolConfig, log);
    const scripts = await runner();
    groups.claim({ requestId: 0, pgid: scripts.pid, persistent: false, scope: 'worker' }, process.pid, undefined);
    groups.requestEnded();
    // Not a runtime: no memory or CPU is read from it.
    expect(groups.runtimeLeader).toBe(0);
    const exit = once(scripts, 'exit');
    groups.killAll(process.pid);
    expect(await exit).toEqual([null, 'SIGKILL']);
  });

  it('refuses a claim on a process that is not the worker\'s descendant, and kills nothing', () => {
    const groups = new WorkerGroups(pool, log);
    groups.claim({ requestId: 1, pgid: process.ppid, persistent: true }, process.pid, 1);
    expect(groups.runtimeLeader).toBe(0);
    expect(lines.some((line) => line.includes('cgi group refused'))).toBe(true);
  });
});
