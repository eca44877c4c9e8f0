// This file implements the duration and size units of the config file from the perspective of
// an operator who writes PHP-FPM-style values ("30s", "5m", "64M") and a daemon that wants plain
// milliseconds and bytes.

const MS_PER_UNIT = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
} as const;

type DurationUnit = keyof typeof MS_PER_UNIT;

/** Units from the largest to the smallest, for {@link formatDurationMs}. */
const DURATION_UNITS_DESCENDING: readonly DurationUnit[] = ['d', 'h', 'm', 's', 'ms'];

/** Size units, lowercased. A Map, so that `"5constructor"` is an unknown unit, not a crash. */
const BYTES_PER_UNIT: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['b', 1],
  ['k', 1024],
  ['kb', 1024],
  ['kib', 1024],
  ['m', 1024 ** 2],
  ['mb', 1024 ** 2],
  ['mib', 1024 ** 2],
  ['g', 1024 ** 3],
  ['gb', 1024 ** 3],
  ['gib', 1024 ** 3],
]);

const DURATION_RE = /^(\d+)(ms|s|m|h|d)?$/;
const SIZE_RE = /^(\d+)\s*([a-z]*)$/i;

/** Renders a value for an error message: strings quoted, everything else as written. */
function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function wholeNumber(value: number, what: string, hint: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`invalid ${what} ${show(value)}: ${hint}`);
  }
  return value;
}

/**
 * Parses a duration into milliseconds.
 *
 * Accepts a whole number followed by one of `ms`, `s`, `m`, `h`, `d` (`"500ms"`, `"30s"`,
 * `"5m"`, `"1h"`, `"1d"`), or a bare whole number (or numeric string) of **seconds**, as
 * PHP-FPM reads `request_terminate_timeout = 30`. `0` (or `"0"`, `"0s"`) is 0, which the
 * config keys that take durations read as "off".
 *
 * @param value - the value as written in the config file.
 * @returns the duration in milliseconds, a non-negative safe integer.
 * @throws TypeError naming the value when it is negative, fractional, has an unknown unit or
 *   does not fit in a safe integer of milliseconds.
 * @see https://www.php.net/manual/en/install.fpm.configuration.php (time units)
 */
export function parseDurationMs(value: string | number): number {
  const hint = 'expected a whole number followed by ms, s, m, h or d (a bare number is seconds)';
  if (typeof value === 'number') {
    return wholeNumber(wholeNumber(value, 'duration', hint) * MS_PER_UNIT.s, 'duration', 'too large');
  }
  const match = DURATION_RE.exec(value.trim());
  if (match === null) throw new TypeError(`invalid duration ${show(value)}: ${hint}`);
  const unit = (match[2] ?? 's') as DurationUnit;
  const ms = Number(match[1]) * MS_PER_UNIT[unit];
  if (!Number.isSafeInteger(ms)) throw new TypeError(`invalid duration ${show(value)}: too large`);
  return ms;
}

/**
 * Formats milliseconds in the largest unit that represents them exactly (`60000` → `"1m"`,
 * `1500` → `"1500ms"`); {@link parseDurationMs} reads the result back to the same number.
 *
 * @param ms - a non-negative safe integer of milliseconds.
 * @throws TypeError when `ms` is negative, fractional or unsafe.
 */
export function formatDurationMs(ms: number): string {
  wholeNumber(ms, 'duration', 'expected a whole number of milliseconds');
  if (ms === 0) return '0s';
  const unit = DURATION_UNITS_DESCENDING.find((u) => ms % MS_PER_UNIT[u] === 0) ?? 'ms';
  return `${ms / MS_PER_UNIT[unit]}${unit}`;
}

/**
 * Parses a size into bytes.
 *
 * Accepts a whole number with an optional unit, case-insensitive: `B`; `K`, `KB`, `KiB`;
 * `M`, `MB`, `MiB`; `G`, `GB`, `GiB`. **Every unit is binary** (×1024), as in PHP-FPM and
 * php.ini, so `"64MB"` and `"64MiB"` are both 67108864 bytes. A bare number (or numeric
 * string) is bytes.
 *
 * @param value - the value as written in the config file.
 * @returns the size in bytes, a non-negative safe integer.
 * @throws TypeError naming the value when it is negative, fractional, has an unknown unit or
 *   does not fit in a safe integer.
 */
export function parseSizeBytes(value: string | number): number {
  const hint = 'expected a whole number with an optional unit B, K, M, G (or KB/KiB, MB/MiB, GB/GiB)';
  if (typeof value === 'number') return wholeNumber(value, 'size', hint);
  const match = SIZE_RE.exec(value.trim());
  const factor = match === null ? undefined : BYTES_PER_UNIT.get((match[2] ?? '').toLowerCase());
  if (match === null || factor === undefined) throw new TypeError(`invalid size ${show(value)}: ${hint}`);
  const bytes = Number(match[1]) * factor;
  if (!Number.isSafeInteger(bytes)) throw new TypeError(`invalid size ${show(value)}: too large`);
  return bytes;
}
