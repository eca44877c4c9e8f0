// This file implements watching a handler pool's module from the perspective of a developer
// who edits it: a change (write, or an editor's rename-over) is noticed through inotify (no
// polling timer runs while nothing changes) and reported once per burst of events; the
// supervisor's handler pools each watched so, their workers restarted one at a time.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../log/logger.ts';
import type { Pool } from '../pool/pool.ts';

/** Events closer together than this are one change (editors write in several steps). */
const SETTLE_MS = 150;

/**
 * Calls `onChange` after `path` changed. The directory is watched, not the file, so a file
 * replaced by rename (vim, atomic writes) keeps being watched.
 * @returns a function that stops watching.
 */
export function watchModule(path: string, onChange: () => void, onError: (err: Error) => void): () => void {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (filename !== name) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, SETTLE_MS);
    });
  } catch (err) {
    onError(err as Error);
    return () => undefined;
  }
  watcher.on('error', onError);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}

/** The watched handler modules of the supervisor's pools, by pool name. */
export class HandlerWatches {
  readonly #log: Logger;
  readonly #stops = new Map<string, () => void>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Watches `pool`'s handler module (any earlier watch of that pool stopped first). */
  watch(pool: Pool): void {
    this.unwatch(pool.config.name);
    const path = pool.config.handler.module;
    if (pool.config.runtime !== 'handler' || path === undefined) return;
    const log = this.#log.child({ pool: pool.config.name });
    this.#stops.set(pool.config.name, watchModule(path, () => {
      log.info({ module: path }, 'handler module changed, restarting workers');
      void pool.restartWorkers();
    }, (err) => { log.warn({ module: path, err: err.message }, 'cannot watch handler module'); }));
  }

  /** Stops watching pool `name`'s module. */
  unwatch(name: string): void {
    this.#stops.get(name)?.();
    this.#stops.delete(name);
  }

  /** Stops every watch (the daemon stops). */
  stopAll(): void {
    for (const stop of this.#stops.values()) stop();
    this.#stops.clear();
  }
}
