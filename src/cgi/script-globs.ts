// This file implements a pool's `match` globs as regular expressions from the perspective of a
// worker that is not Node (the python worker resolving scripts itself, `dispatch = "direct"`):
// one glob implementation, picomatch, whose compiled expression is sent to it, written in the
// dialect of python's `re`. Pure.
import picomatch from 'picomatch';

/**
 * One `match` glob as python's `re` reads it: the source (compile with `re.ASCII`, full match
 * is already anchored) and whether it is tested against the basename (a glob without `/`) or
 * the path relative to the root. The list is index for index the pool's `match` list, because
 * picomatch also matches an input equal to the glob itself.
 */
export type ScriptGlob = readonly [source: string, basename: boolean];

/**
 * picomatch's expression for each glob of a `match` list (`picomatch.makeRe(glob, { basename:
 * !glob.includes('/') })`, as script.ts `matcherFor` compiles them), rewritten for python's
 * `re` by {@link pythonRegexSource}. Apply them to the relative path decoded as UTF-8 (U+FFFD
 * for a byte that is not), as UTF-16 code units (an astral character as its two surrogates,
 * as JavaScript sees it); a glob without `/` to the last segment.
 * @throws TypeError `invalid glob "…": …` for a glob whose expression holds a lookbehind
 *   (written into a glob as `(?<=…)`: python's must have a fixed width); the config check
 *   calls this at load
 * @see ScriptRules.match
 */
export function scriptGlobs(match: readonly string[]): ScriptGlob[] {
  return match.map((glob) => {
    const basename = !glob.includes('/');
    try {
      return [pythonRegexSource(picomatch.makeRe(glob, { basename }).source), basename] as const;
    } catch (error) {
      throw new TypeError(`invalid glob ${JSON.stringify(glob)}: ${(error as Error).message}`, { cause: error });
    }
  });
}

/** JavaScript's `.` (no `s` flag): anything but its line terminators. */
const JS_DOT = '[^\\n\\r\\u2028\\u2029]';
/** JavaScript's `\s` (no `u` flag): its WhiteSpace and LineTerminator characters. */
const JS_SPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
/** Escapes that mean the same in python's `re` with `re.ASCII`. */
const SAME_ESCAPES = new Set('dDwWbBtnvfr');

/**
 * A JavaScript regular-expression source (no flags) rewritten so that python's `re` (with
 * `re.ASCII`) matches the same strings: outside a class `.` becomes JavaScript's `.` and `$`
 * becomes `\Z` (python's `$` also matches before a final newline); `\s`/`\S` become
 * JavaScript's white-space class; identity escapes (`\z` is `z` without the `u` flag, as are a
 * `\x`/`\u` without their hex digits and `\c` without a letter) become the character; `[]`
 * (nothing) and `[^]` (anything) are spelled out; `(?<name>` becomes `(?P<name>`; `\\N` is a
 * backreference, an octal escape or the digit, as JavaScript decides.
 * @throws TypeError for a lookbehind (python's must have a fixed width)
 */
export function pythonRegexSource(source: string): string {
  const groups = captureGroups(source);
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i += 1) {
    const c = source[i] ?? '';
    if (c === '\\') {
      const [text, length] = escape(source, i + 1, inClass, groups);
      out += text;
      i += length;
    } else if (inClass) {
      out += c === '[' ? '\\[' : c;
      if (c === ']') inClass = false;
    } else if (c === '[') {
      const empty = source.startsWith('[]', i) ? '(?!)' : source.startsWith('[^]', i) ? '[\\s\\S]' : undefined;
      if (empty !== undefined) {
        out += empty;
        i += empty === '(?!)' ? 1 : 2;
        continue;
      }
      inClass = true;
      out += c;
      if (source[i + 1] === '^') { out += '^'; i += 1; }
      if (source[i + 1] === ']') { out += '\\]'; i += 1; } // unreachable in JS, kept literal
    } else if (c === '.') {
      out += JS_DOT;
    } else if (c === '$') {
      out += '\\Z';
    } else if (source.startsWith('(?<=', i) || source.startsWith('(?<!', i)) {
      throw new TypeError('its expression holds a lookbehind, which python matches only at a fixed width');
    } else if (source.startsWith('(?<', i)) {
      out += '(?P<';
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

/** How many capturing groups `source` has (a `\\N` up to it is a backreference in JavaScript). */
function captureGroups(source: string): number {
  let count = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i += 1) {
    const c = source[i];
    if (c === '\\') i += 1;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(' && (source[i + 1] !== '?' || (source[i + 2] === '<' && !'=!'.includes(source[i + 3] ?? '')))) count += 1;
  }
  return count;
}

/**
 * A `\\` + digits escape as JavaScript reads it without the `u` flag: a backreference when
 * the number is at most the group count (outside a class), else a legacy octal escape (up to
 * three octal digits, at most 0o377), else (`\\8`, `\\9`) the digit itself.
 */
function digitEscape(source: string, at: number, inClass: boolean, groups: number): [string, number] {
  const digits = /^[0-9]+/.exec(source.slice(at))?.[0] ?? '';
  if (!inClass && !digits.startsWith('0') && Number(digits) <= groups) return [`(?:\\${digits})`, digits.length];
  const octal = /^[0-3][0-7]{0,2}|^[4-7][0-7]?/.exec(source.slice(at))?.[0];
  if (octal === undefined) return [digits[0] ?? '', 1];
  return [`\\x${Number.parseInt(octal, 8).toString(16).padStart(2, '0')}`, octal.length];
}

/** The python spelling of the escape at `at` (after the backslash), and how many characters it used. */
function escape(source: string, at: number, inClass: boolean, groups: number): [string, number] {
  const c = source[at] ?? '';
  if (c >= '0' && c <= '9') return digitEscape(source, at, inClass, groups);
  if (c === 's' || c === 'S') {
    if (inClass && c === 'S') return ['\\S', 1]; // python's, not ASCII-exact: no JS class nests
    return [inClass ? JS_SPACE : c === 's' ? `[${JS_SPACE}]` : `[^${JS_SPACE}]`, 1];
  }
  if (inClass && c === 'B') return ['B', 1]; // an identity escape in a class
  if (SAME_ESCAPES.has(c)) return [`\\${c}`, 1];
  if (c === 'x' && /^[0-9a-fA-F]{2}$/.test(source.slice(at + 1, at + 3))) return [`\\x${source.slice(at + 1, at + 3)}`, 3];
  if (c === 'u' && /^[0-9a-fA-F]{4}$/.test(source.slice(at + 1, at + 5))) return [`\\u${source.slice(at + 1, at + 5)}`, 5];
  if (c === 'c' && /^[a-zA-Z]$/.test(source[at + 1] ?? '')) {
    const code = (source.charCodeAt(at + 1) % 32).toString(16).padStart(2, '0');
    return [`\\x${code}`, 2];
  }
  if (c === 'c') return ['\\\\c', 1];
  if (c === '') return ['\\\\', 0];
  // Any other escaped character is itself (an identity escape); python refuses `\` + a letter.
  return [/[a-zA-Z]/.test(c) ? c : `\\${c}`, 1];
}
