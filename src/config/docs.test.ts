// This file implements the check that docs/config.md documents the schema from the perspective
// of an operator reading it: every key the schema accepts has a heading of its own (and, for a
// pool key, a row in the pools table), no heading names a key the schema refuses, and no
// runtime or pm policy that exists is called "planned".

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PM_MODES, RUNTIMES } from './schema.ts';
import { GLOBAL_KEYS, POOL_KEYS, TOP_LEVEL_KEYS } from './toml-schema.ts';

const DOC = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');

/** The backquoted names in the doc's headings below `## heading`, up to the next `## `. */
function headingKeys(section: string): string[] {
  const start = DOC.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`docs/config.md has no "## ${section}" section`);
  const end = DOC.indexOf('\n## ', start + 1);
  const body = DOC.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(/^###+ (.*)$/gm)].flatMap((m) => [...(m[1] ?? '').matchAll(/`([^`]+)`/g)].map((k) => k[1] ?? ''));
}

/** The first-column keys of the pools table. */
function poolTableKeys(): string[] {
  return [...DOC.matchAll(/^\| `([a-z_.]+)` +\|/gm)].map((m) => m[1] ?? '');
}

describe('docs/config.md', () => {
  it('has a heading for every key of [global], and none for a key it refuses', () => {
    expect(headingKeys('`[global]`').sort()).toEqual([...GLOBAL_KEYS].sort());
  });

  it('has a heading for every key of a pool, and none for a key it refuses', () => {
    expect(headingKeys('`[pools.NAME]`').sort()).toEqual([...POOL_KEYS].sort());
  });

  it('lists every pool key in the pools table', () => {
    const rows = poolTableKeys();
    for (const key of POOL_KEYS) expect(rows, `pools table row for ${key}`).toContain(key);
  });

  it('documents every top-level key', () => {
    const top = headingKeys('Top level');
    for (const key of TOP_LEVEL_KEYS.filter((k) => k !== 'global' && k !== 'pools')) expect(top).toContain(key);
    for (const key of TOP_LEVEL_KEYS) expect(DOC).toContain(`| \`${key}\``);
  });

  it('calls no runtime or pm policy that exists "planned"', () => {
    const planned = DOC.split('\n').filter((line) => /planned|so far|to come/i.test(line));
    for (const name of [...RUNTIMES, ...PM_MODES]) {
      expect(planned.filter((line) => line.includes(`"${name}"`) || line.includes(`\`${name}\``))).toEqual([]);
    }
    expect(DOC).toMatch(/`"ondemand"`/);
    for (const name of RUNTIMES) expect(DOC, `runtime ${name} documented`).toContain(`- \`"${name}"\``);
  });
});
