// This file implements a pool's `match` globs from the perspective of script resolution, which
// asks of every request whether its path (relative to the pool's root) may run: picomatch
// compiles each list once, and the answer for a path is kept, since globs alone decide it.
import picomatch from 'picomatch';

/** Compiled `match` lists, per list (pool configs are frozen and long-lived). */
const matchers = new WeakMap<readonly string[], (relative: string) => boolean>();

/** Match answers kept per `match` list (a site with more distinct paths starts over). */
const MATCH_ANSWERS_KEPT = 1024;
/** Longer paths are matched every time, not kept (the answers stay within ~1 MiB). */
const MATCH_ANSWER_PATH_MAX_CHARS = 1024;

/**
 * The matcher of a `match` list, made once per list. picomatch's `basename` option applies to
 * every pattern it is given (4.0.7 tests even `sub/*.py` against the basename), so each glob is
 * compiled on its own: without `/` against the basename, with `/` against the path relative to
 * root. The answer for a path is kept (up to {@link MATCH_ANSWERS_KEPT} paths of up to
 * {@link MATCH_ANSWER_PATH_MAX_CHARS} characters): globs alone decide it, so it never goes stale.
 * @param match - the pool's `match` globs (`[pools.x] match`)
 * @returns a test of a path relative to the pool's root (text), true when a glob matches it
 * @see docs/config.md `match`
 */
export function matcherFor(match: readonly string[]): (relative: string) => boolean {
  let matcher = matchers.get(match);
  if (matcher === undefined) {
    const tests = match.map((glob) => picomatch(glob, { basename: !glob.includes('/') }));
    const answers = new Map<string, boolean>();
    matcher = (relative) => {
      let matched = answers.get(relative);
      if (matched === undefined) {
        matched = tests.some((test) => test(relative));
        if (relative.length > MATCH_ANSWER_PATH_MAX_CHARS) return matched;
        if (answers.size >= MATCH_ANSWERS_KEPT) answers.clear();
        answers.set(relative, matched);
      }
      return matched;
    };
    matchers.set(match, matcher);
  }
  return matcher;
}
