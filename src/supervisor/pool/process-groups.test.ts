import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { killVerifiedGroup, readProcess, verifyGroup, type ProcessInfo } from './process-groups.ts';

const WORKER = 100;

type Row = [ppid: number, pgrp: number, startTime: number, uid: number];

/** A process table: pid → [ppid, pgrp, startTime, uid]. */
function table(rows: Record<number, Row>) {
  return (pid: number): ProcessInfo | undefined => {
    const row = rows[pid];
    return row === undefined ? undefined : { ppid: row[0], pgrp: row[1], startTime: row[2] };
  };
}

/** The owners of the same table. */
function owners(rows: Record<number, Row>) {
  return (pid: number): number | undefined => rows[pid]?.[3];
}

const UID = 65534;

describe('verifyGroup', () => {
  const procs = table({
    1: [0, 1, 1, 0],
    100: [1, 100, 50, 65534], // the worker
    200: [100, 200, 60, 65534], // its CGI child, leading its own group
    300: [200, 200, 61, 65534], // a grandchild in that group (not a leader)
    400: [300, 400, 62, 65534], // a great-grandchild leading a group of its own
    900: [1, 900, 10, 0], // a root-owned victim leading its group
  });

  it.each([
    ['a child leading its group', 200, { pgid: 200, startTime: 60, uid: UID }],
    ['a descendant further down leading its group', 400, { pgid: 400, startTime: 62, uid: UID }],
    ['a process that is not its descendant', 900, 'not a descendant of the worker'],
    ['a member that leads no group', 300, 'not a process group leader'],
    ['a pid with no process', 555, 'no such process'],
    ['init', 1, 'not a process group id'],
    ['the worker itself', 100, 'the worker itself'],
    ['a negative number', -200, 'not a process group id'],
    ['a string', '200', 'not a process group id'],
    ['a fraction', 200.5, 'not a process group id'],
  ])('%s', (_name, pgid, expected) => {
    expect(verifyGroup(WORKER, UID, pgid, procs)).toEqual(expected);
  });

  it('stops walking at a bounded depth (a parent loop cannot hang it)', () => {
    const loop = table({ 200: [201, 200, 1, 0], 201: [200, 201, 1, 0] });
    expect(verifyGroup(WORKER, UID, 200, loop)).toBe('not a descendant of the worker');
  });
});

describe('killVerifiedGroup', () => {
  const group = { pgid: 200, startTime: 60, uid: 65534 };

  it('kills the whole group while its leader is the process checked', () => {
    const kills: [number, string][] = [];
    const result = killVerifiedGroup(group, (pid, signal) => { kills.push([pid, signal]); }, table({ 200: [1, 200, 60, 65534] }), () => []);
    expect(result).toBe('group');
    expect(kills).toEqual([[-200, 'SIGKILL']]);
  });

  it('signals nothing when the pid now names another process (reused)', () => {
    const kills: number[] = [];
    const reused = table({ 200: [1, 200, 99, 0] });
    expect(killVerifiedGroup(group, (pid) => { kills.push(pid); }, reused, () => [200])).toBe('refused');
    expect(kills).toEqual([]);
  });

  it("once the leader is gone, kills only members of the leader's user started after it", () => {
    const kills: number[] = [];
    const rows: Record<number, Row> = {
      301: [1, 200, 70, 65534], // left behind by the script: killed
      302: [1, 200, 70, 0], // same group id, root's: never
      303: [1, 200, 40, 65534], // started before the leader: not of this group
      304: [1, 999, 70, 65534], // another group
    };
    const kill = (pid: number): void => { kills.push(pid); };
    expect(killVerifiedGroup(group, kill, table(rows), () => [301, 302, 303, 304], owners(rows))).toBe('members');
    expect(kills).toEqual([301]);
  });
});

describe('on real processes', () => {
  it('accepts a child of this process leading its own group, and refuses its parent', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    await once(child, 'spawn');
    const pid = child.pid ?? 0;
    try {
      const uid = process.getuid?.() ?? 0;
      const verified = verifyGroup(process.pid, uid, pid);
      expect(verified).toMatchObject({ pgid: pid, uid });
      expect(verifyGroup(process.pid, uid, process.ppid)).not.toHaveProperty('pgid');
      expect(readProcess(pid)?.pgrp).toBe(pid);
      if (typeof verified === 'string') throw new Error(verified);
      const exited = once(child, 'exit');
      expect(killVerifiedGroup(verified)).toBe('group');
      expect(await exited).toEqual([null, 'SIGKILL']);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
