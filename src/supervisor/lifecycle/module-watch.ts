// This file implements watching a handler pool's module from the perspective of a developer
// who edits it: a change (write, or an editor's rename-over) is noticed through inotify (no
// polling timer runs while nothing changes) and reported once per burst of events.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

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
