// This file implements "would this process still be alive?" from the perspective of the node
// runtime deciding when a script is done, on Node's public API: `process.getActiveResourcesInfo()`
// lists what keeps the event loop alive (ref'd libuv handles, pending libuv requests, ref'd
// timers and immediates), one type name per resource; a run compares those counts with the
// counts at its start.

/** `process.getActiveResourcesInfo`, as it was when the runtime loaded (a script may replace it). */
const activeResourcesInfo: () => string[] = process.getActiveResourcesInfo.bind(process);

/**
 * The type name `process.getActiveResourcesInfo()` gives each ref'd immediate (Node's own JS
 * writes it, as it writes `Timeout`: see the API's documentation example).
 */
export const IMMEDIATE = 'Immediate';

/** How many resources of each type keep the event loop alive. */
export type ResourceCounts = ReadonlyMap<string, number>;

/**
 * The resources keeping the event loop alive now, counted by type, less `ownImmediates` of the
 * {@link IMMEDIATE}s: those the caller knows are not the script's (the worker's own).
 */
export function countActiveResources(ownImmediates = 0): ResourceCounts {
  const counts = new Map<string, number>();
  for (const type of activeResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  if (ownImmediates > 0) counts.set(IMMEDIATE, (counts.get(IMMEDIATE) ?? 0) - ownImmediates);
  return counts;
}

/**
 * The resources in `now` beyond `baseline`, as `Type×n` strings (empty when none): what a
 * script started and left running.
 */
export function beyond(baseline: ResourceCounts, now: ResourceCounts): string[] {
  const extra: string[] = [];
  for (const [type, count] of now) {
    const more = count - (baseline.get(type) ?? 0);
    if (more > 0) extra.push(more === 1 ? type : `${type}×${more}`);
  }
  return extra;
}

/** True when `now` has any resource beyond `baseline` (no allocation: the per-check fast path). */
export function anyBeyond(baseline: ResourceCounts, now: ResourceCounts): boolean {
  for (const [type, count] of now) if (count > (baseline.get(type) ?? 0)) return true;
  return false;
}
