// This file implements the worker's checked script descriptors from the perspective of a warm
// pool serving the same scripts again and again: `openScript` (script-file.ts) costs an open, a
// readlink of /proc/self/fd/N, an fstat and a close per request (30–45 µs of worker CPU on the
// 2-core machine). A script that was opened and checked stays open here, and its next request
// costs one `stat` of the path: when the path still leads to the same file in the same version
// (device, inode, size, mtime, ctime), the descriptor checked before is that file; anything else
// (a swapped path, a renamed or edited file, a vanished one) drops the entry and opens and checks
// again, so every refusal of `openScript` still happens on the request that meets the change.
import { closeSync, statSync, type Stats } from 'node:fs';
import { openScript, type OpenedScript, type ScriptMismatch, type ScriptUse } from './script-file.ts';

/** How many checked descriptors a worker keeps open (the least recently used is closed). */
export const SCRIPT_DESCRIPTORS_MAX = 64;

interface Entry {
  readonly opened: OpenedScript;
  readonly use: ScriptUse;
}

/**
 * Checked script descriptors, kept open across requests of one worker.
 *
 * Why a `stat` of the path is enough to reuse a descriptor: the descriptor was checked, when
 * opened, to be exactly this real path (script-file.ts). `stat` follows the path as it is now;
 * the same device and inode means the path leads to the file the descriptor holds, and the same
 * ctime means that inode was not renamed, linked, chmod'ed or written since (each of those sets
 * ctime). A path swapped for a symlink to elsewhere (issue 10's RENAME_EXCHANGE race) leads to
 * another inode, so the request is checked afresh and refused as before. A swap that lands after
 * the `stat` cannot change what runs: the runtime reads or executes the descriptor, not the path.
 */
export class ScriptDescriptors {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;

  constructor(max = SCRIPT_DESCRIPTORS_MAX) {
    this.#max = max;
  }

  /**
   * The checked descriptor of `path` for `use`: the one kept from an earlier request when the
   * path still leads to the same version of it, else `openScript`'s answer (kept when it is a
   * descriptor).
   * @returns a kept descriptor (do not close it), or the refusal
   */
  open(path: Buffer, use: ScriptUse): OpenedScript | ScriptMismatch {
    const key = path.toString('latin1');
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      const now = statSync(path, { throwIfNoEntry: false });
      if (entry.use === use && now !== undefined && sameVersion(entry.opened.stats, now)) {
        // Most recently used last: the eviction closes the oldest.
        this.#entries.delete(key);
        this.#entries.set(key, entry);
        return { ...entry.opened, kept: true };
      }
      this.#drop(key, entry);
    }
    const opened = openScript(path, use);
    if (!('fd' in opened)) return opened;
    this.#entries.set(key, { opened, use });
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.entries().next();
      if (oldest.done !== true) this.#drop(oldest.value[0], oldest.value[1]);
    }
    return { ...opened, kept: true };
  }

  /** Descriptors kept now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Closes every kept descriptor. */
  close(): void {
    for (const [key, entry] of this.#entries) this.#drop(key, entry);
  }

  #drop(key: string, entry: Entry): void {
    this.#entries.delete(key);
    try {
      closeSync(entry.opened.fd);
    } catch {
      // already closed: nothing to free
    }
  }
}

/** The same file in the same version: device, inode, size, mtime and ctime. */
function sameVersion(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
