// This file implements "did you mean" suggestions from the perspective of an operator who
// misspelled a config key (`pm.max_chidren`) or dropped its prefix (`max_children`).

/**
 * The Levenshtein distance between two strings: the fewest single-character insertions,
 * deletions and substitutions that turn `a` into `b`. Case-sensitive; O(|a|·|b|).
 */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The known key an unknown one most likely meant, or `undefined` when none is close.
 *
 * A candidate is close when it differs from the unknown key, compared case-insensitively, by at
 * most a third of the longer one's length (at least 1 edit, at most 3), or when it is the
 * unknown key with a dotted prefix put back (`max_children` → `pm.max_children`). Ties go to
 * the first candidate.
 *
 * @param unknown - the key as written.
 * @param candidates - the keys that are valid in that place.
 */
export function suggestKey(unknown: string, candidates: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate.toLowerCase().endsWith(`.${lower}`)) return candidate;
    const distance = editDistance(lower, candidate.toLowerCase());
    const limit = Math.min(3, Math.max(1, Math.floor(Math.max(lower.length, candidate.length) / 3)));
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
