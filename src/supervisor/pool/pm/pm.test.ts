import { describe, expect, it } from 'vitest';
import { decide, initialWorkers, type PmSettings, type PmSnapshot } from './index.ts';
import { SPARE_GRACE_MS } from './dynamic.ts';

const base: PmSettings = {
  mode: 'static', maxChildren: 4, startServers: 2, minSpareServers: 1, maxSpareServers: 2, processIdleTimeoutMs: 10_000,
};
const snap = (over: Partial<PmSnapshot> = {}): PmSnapshot => ({ nowMs: 100_000, spawning: 0, idle: [], busy: 0, queued: 0, ...over });
const idle = (...since: number[]) => since.map((idleSinceMs, i) => ({ pid: 100 + i, idleSinceMs }));

describe('initialWorkers', () => {
  it('static starts max_children, dynamic start_servers (capped), ondemand none', () => {
    expect(initialWorkers(base)).toBe(4);
    expect(initialWorkers({ ...base, mode: 'dynamic' })).toBe(2);
    expect(initialWorkers({ ...base, mode: 'dynamic', startServers: 9 })).toBe(4);
    expect(initialWorkers({ ...base, mode: 'ondemand' })).toBe(0);
  });
});

describe('pm = static', () => {
  it('replaces missing workers and never stops one', () => {
    expect(decide(base, snap({ idle: idle(0, 0), busy: 1 }))).toEqual({ spawn: 1, stop: [] });
    expect(decide(base, snap({ idle: idle(0, 0, 0, 0) }))).toEqual({ spawn: 0, stop: [] });
    expect(decide(base, snap({ spawning: 4 }))).toEqual({ spawn: 0, stop: [] });
  });
});

describe('pm = dynamic', () => {
  const dyn: PmSettings = { ...base, mode: 'dynamic' };
  it('forks up to min_spare idle workers', () => {
    expect(decide(dyn, snap({ busy: 2 }))).toEqual({ spawn: 1, stop: [] });
    expect(decide(dyn, snap({ busy: 2, spawning: 1 }))).toEqual({ spawn: 0, stop: [] });
  });
  it('forks one per queued request, never past max_children', () => {
    expect(decide(dyn, snap({ busy: 1, queued: 2 }))).toEqual({ spawn: 2, stop: [] });
    expect(decide(dyn, snap({ busy: 3, queued: 5 }))).toEqual({ spawn: 1, stop: [] });
    expect(decide(dyn, snap({ busy: 4, queued: 5 }))).toEqual({ spawn: 0, stop: [] });
  });
  it('stops surplus idle workers only after the spare grace, oldest first, and says when to look again', () => {
    const now = 100_000;
    expect(decide(dyn, snap({ idle: idle(now - 5000, now - 3000, now - 100) }))).toEqual({ spawn: 0, stop: [100] });
    expect(decide(dyn, snap({ idle: idle(now - 200, now - 100, now) }))).toEqual({
      spawn: 0, stop: [], recheckInMs: SPARE_GRACE_MS - 200,
    });
  });
  it('stops nothing while requests wait', () => {
    expect(decide(dyn, snap({ idle: idle(0, 0, 0), queued: 1 })).stop).toEqual([]);
  });
});

describe('pm = ondemand', () => {
  const od: PmSettings = { ...base, mode: 'ondemand' };
  it('forks nothing without demand, one per waiting request up to max_children', () => {
    expect(decide(od, snap())).toEqual({ spawn: 0, stop: [] });
    expect(decide(od, snap({ queued: 1 }))).toEqual({ spawn: 1, stop: [] });
    expect(decide(od, snap({ queued: 3, spawning: 1 }))).toEqual({ spawn: 2, stop: [] });
    expect(decide(od, snap({ queued: 9, busy: 3 }))).toEqual({ spawn: 1, stop: [] });
  });
  it('stops workers idle for process_idle_timeout and rechecks at the next deadline', () => {
    const now = 100_000;
    expect(decide(od, snap({ idle: idle(now - 10_000, now - 4_000) }))).toEqual({ spawn: 0, stop: [100], recheckInMs: 6_000 });
    expect(decide(od, snap({ idle: idle(now - 1) }))).toEqual({ spawn: 0, stop: [], recheckInMs: 9_999 });
  });
});
