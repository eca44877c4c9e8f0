// This file implements the folding of TOML dotted keys from the perspective of an operator who
// writes PHP-FPM's directive names either quoted (`"pm.max_children" = 4`, one literal key) or
// bare (`pm.max_children = 4`, which TOML reads as a nested table `pm = { max_children = 4 }`).

/**
 * True for a plain TOML table (not an array, not a date).
 */
export function isTable(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The result of {@link flattenTable}. */
export interface Flattened {
  /** The table with nested tables folded into dotted keys, in the order they appeared. */
  readonly table: Record<string, unknown>;
  /** Dotted keys written both ways (quoted and nested), each once. */
  readonly duplicates: readonly string[];
}

/**
 * Folds nested tables into dotted keys: `{ pm: { max_children: 4 } }` becomes
 * `{ "pm.max_children": 4 }`, at any depth. Keys in `keepAsMap` (such as `env`, whose value
 * is a map of its own) stay tables. A key written both as a quoted dotted key and through a
 * nested table is reported in `duplicates` (the first value is kept).
 *
 * @param table - one parsed TOML table.
 * @param keepAsMap - top-level keys whose table values are kept as they are.
 */
export function flattenTable(
  table: Readonly<Record<string, unknown>>,
  keepAsMap: readonly string[] = [],
): Flattened {
  const flat: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const duplicates: string[] = [];
  const put = (key: string, value: unknown): void => {
    if (Object.hasOwn(flat, key)) {
      if (!duplicates.includes(key)) duplicates.push(key);
      return;
    }
    flat[key] = value;
  };
  const walk = (prefix: string, node: Readonly<Record<string, unknown>>): void => {
    for (const [key, value] of Object.entries(node)) {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      if (isTable(value) && !(prefix === '' && keepAsMap.includes(key))) walk(path, value);
      else put(path, value);
    }
  };
  walk('', table);
  return { table: flat, duplicates };
}
