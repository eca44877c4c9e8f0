// This file implements a cache of script resolutions from the perspective of the supervisor's
// router, which resolves every request's SCRIPT_FILENAME: a full resolution (`realpath(3)`, a
// `stat`, `access(X_OK)`, the checks of script.ts) costs ~12 µs and a few promises; a request for
// a script resolved before costs one `stat` of the path as sent, compared with the identity taken
// before that resolution (plus one `realpath(3)` when the path as sent went through a symlink).
// Anything that differs, fails or is old is resolved in full again. It is an optimisation of the
// answer (200 / 403 / 404), not the security check: the worker still opens the resolved path and
// checks what the kernel opened (DESIGN.md, "The checked file is the executed file").
import { realpathSync, statSync, type Stats } from 'node:fs';
import { resolveScript, stripProxyPrefix, type ScriptFs, type ScriptResolution, type ScriptRules } from './script.ts';

/** The synchronous file-system calls of a cache hit (tests may pass a fake). */
export interface ScriptCacheFs {
  /** `stat(2)` following symlinks; `undefined` when the path does not exist; throws otherwise. */
  stat(path: Buffer): Stats | undefined;
  /** `realpath(3)` as bytes; throws (ENOENT, ELOOP…) when the path cannot be resolved. */
  realpath(path: Buffer): Buffer;
}

/** Options of a {@link ScriptCache}. */
export interface ScriptCacheOptions {
  /**
   * Entries kept per pool (the oldest is dropped past it).
   * @defaultValue 1024
   */
  readonly maxEntries?: number;
  /**
   * Age after which an entry is resolved in full again, however its `stat` looks, in ms: it
   * bounds what no single `stat` can see (a directory on the path replaced by a symlink to a
   * directory holding a hard link of the same file).
   * @defaultValue 1000
   */
  readonly maxAgeMs?: number;
  /** The clock, in ms. @defaultValue `Date.now` */
  readonly now?: () => number;
  /** @defaultValue `node:fs` (`statSync` with `throwIfNoEntry: false`, `realpathSync.native`) */
  readonly fs?: ScriptCacheFs;
}

/** What one `stat` says about a file; two equal identities mean the same file, unchanged. */
interface Identity {
  readonly dev: number;
  readonly ino: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

interface Entry {
  readonly resolution: ScriptResolution;
  /** The path as sent (Apache's proxy prefix stripped): what a hit `stat`s. */
  readonly path: Buffer;
  /** Its real path when the entry was made. */
  readonly real: Buffer;
  /** False when the path as sent is not the real path (a symlink or `..` on it): a hit re-runs `realpath`. */
  readonly canonical: boolean;
  readonly identity: Identity;
  readonly storedAtMs: number;
}

const AS_BUFFER = { encoding: 'buffer' } as const;
/** Longest `SCRIPT_FILENAME` + `PATH_INFO` kept, in bytes (`PATH_MAX`): at most ~8 MiB per pool. */
const MAX_KEPT_BYTES = 4096;
const NO_THROW = { throwIfNoEntry: false } as const;

/** `node:fs`, synchronously (a local lookup takes microseconds: see script-fs.ts). */
export const syncCacheFs: ScriptCacheFs = {
  stat: (path) => statSync(path, NO_THROW),
  realpath: (path) => realpathSync.native(path, AS_BUFFER),
};

function identityOf(stats: Stats): Identity {
  const { dev, ino, mode, uid, gid, size, mtimeMs, ctimeMs } = stats;
  return { dev, ino, mode, uid, gid, size, mtimeMs, ctimeMs };
}

function sameIdentity(a: Identity, b: Stats): boolean {
  return a.ino === b.ino && a.ctimeMs === b.ctimeMs && a.mtimeMs === b.mtimeMs && a.size === b.size
    && a.dev === b.dev && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}

/**
 * Script resolutions of the pools of one listener, by pool rules and the bytes sent
 * (`SCRIPT_FILENAME`, `PATH_INFO`). Only answers about a path that exists as sent are kept: a
 * success (not one whose path-info was split off by walking up the path) or a 403 refusal
 * (a listener shared by pools tries them in order: the first pool's "outside root" is kept too),
 * for values of at most 4096 bytes together.
 *
 * Invalidation: an entry holds the identity (device, inode, mode, owner, group, size, mtime,
 * ctime) and the real path of the path as sent, both taken BEFORE the full resolution; a hit
 * `stat`s that path again and must find the same identity (an edit, a removal, a rename or link
 * over it, a chmod/chown/ACL change all change one of them), and, when the path as sent was not
 * already real, `realpath(3)` must still give the same real path (a `current -> release-N`
 * switch, even to a hard link of the same file).
 * The rules (root, `match`, executable bit) are the pool's, fixed for the cache's life (a reload
 * makes new rules and a new router). Past `maxAgeMs`, an entry is resolved in full again.
 * @see resolveScript
 */
export class ScriptCache {
  readonly #pools = new WeakMap<ScriptRules, Map<string, Entry>>();
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #fs: ScriptCacheFs;

  constructor(options: ScriptCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1024;
    this.#maxAgeMs = options.maxAgeMs ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#fs = options.fs ?? syncCacheFs;
  }

  /**
   * The resolution kept for this request, if it still holds (one `stat`, plus one `realpath`
   * for a path through a symlink); `undefined` when it must be resolved in full.
   */
  lookup(rules: ScriptRules, scriptFilename: Buffer, pathInfo: Buffer): ScriptResolution | undefined {
    const entries = this.#pools.get(rules);
    if (entries === undefined) return undefined;
    const key = keyOf(scriptFilename, pathInfo);
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#holds(entry)) return entry.resolution;
    entries.delete(key);
    return undefined;
  }

  /**
   * Resolves in full (script.ts `resolveScript` over `fs`) and keeps the answer for
   * {@link ScriptCache.lookup} when the path as sent exists: a success that needed no path-info
   * split off by walking up the path, or a refusal (403: outside the root, not a regular file,
   * not matched, not executable). A path that does not exist (404) is not kept.
   * @throws what `resolveScript` throws (a file-system error not about the path)
   */
  async resolve(rules: ScriptRules, scriptFilename: Buffer, pathInfo: Buffer, fs: ScriptFs): Promise<ScriptResolution> {
    const path = stripProxyPrefix(scriptFilename);
    // Identity and real path first: whatever changes after them makes the entry's next check differ.
    const storedAtMs = this.#now();
    const before = this.#statOrUndefined(path);
    const real = before === undefined ? undefined : this.#realpathOrUndefined(path);
    const resolution = await resolveScript(scriptFilename, pathInfo, rules, fs);
    if (real === undefined || before === undefined || scriptFilename.length + pathInfo.length > MAX_KEPT_BYTES) {
      return resolution;
    }
    const keep = resolution.ok
      ? resolution.pathInfo === pathInfo && resolution.scriptFilename.equals(real)
      : resolution.status === 403;
    if (keep) {
      // Copies: the values sent are slices of the request's whole params, which must not be kept.
      const kept = resolution.ok && pathInfo.length > 0 ? { ...resolution, pathInfo: Buffer.from(pathInfo) } : resolution;
      this.#store(rules, keyOf(scriptFilename, pathInfo), {
        resolution: kept, path: Buffer.from(path), real, canonical: real.equals(path), identity: identityOf(before), storedAtMs,
      });
    }
    return resolution;
  }

  #holds(entry: Entry): boolean {
    if (this.#now() - entry.storedAtMs > this.#maxAgeMs) return false;
    const stats = this.#statOrUndefined(entry.path);
    if (stats === undefined || !sameIdentity(entry.identity, stats)) return false;
    if (entry.canonical) return true;
    return this.#realpathOrUndefined(entry.path)?.equals(entry.real) === true;
  }

  #realpathOrUndefined(path: Buffer): Buffer | undefined {
    try {
      return this.#fs.realpath(path);
    } catch {
      return undefined;
    }
  }

  #statOrUndefined(path: Buffer): Stats | undefined {
    try {
      return this.#fs.stat(path);
    } catch {
      return undefined; // ENOTDIR, EACCES, ELOOP…: the full resolution says what it means
    }
  }

  #store(rules: ScriptRules, key: string, entry: Entry): void {
    let entries = this.#pools.get(rules);
    if (entries === undefined) {
      entries = new Map();
      this.#pools.set(rules, entries);
    }
    entries.delete(key);
    if (entries.size >= this.#maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done !== true) entries.delete(oldest.value);
    }
    entries.set(key, entry);
  }
}

/**
 * The key: both values as latin1 (one character per byte), NUL between. A kept resolution's
 * values hold no NUL (refused as bad bytes), so its key has exactly one: a request whose values
 * hold one never finds another's entry.
 */
function keyOf(scriptFilename: Buffer, pathInfo: Buffer): string {
  return `${scriptFilename.toString('latin1')}\0${pathInfo.toString('latin1')}`;
}
