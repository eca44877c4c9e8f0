// This file implements the tests of flatten.ts from the perspective of an operator writing
// PHP-FPM's dotted keys quoted or bare.

import { parse, TomlDate } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { flattenTable, isTable } from './flatten.ts';

describe('isTable', () => {
  it('accepts plain and null-prototype objects only', () => {
    expect(isTable({})).toBe(true);
    expect(isTable(Object.create(null))).toBe(true);
    expect(isTable([])).toBe(false);
    expect(isTable(null)).toBe(false);
    expect(isTable('x')).toBe(false);
    expect(isTable(new TomlDate('1979-05-27'))).toBe(false);
    expect(isTable(new Date())).toBe(false);
  });
});

describe('flattenTable', () => {
  it('folds bare dotted keys into the quoted spelling', () => {
    const table = parse('pm = "static"\n"listen.mode" = "0660"\n[queue]\nmax = 3\ntimeout = "5s"\n');
    expect(flattenTable(table)).toEqual({
      table: { pm: 'static', 'listen.mode': '0660', 'queue.max': 3, 'queue.timeout': '5s' },
      duplicates: [],
    });
  });

  it('folds at any depth, keeps arrays, dates and the listed maps', () => {
    const table = parse('a.b.c = 1\nmatch = ["*.py"]\nwhen = 1979-05-27\nenv = { A = "1", B.C = "2" }\n');
    const { table: flat } = flattenTable(table, ['env']);
    expect(Object.keys(flat)).toEqual(['a.b.c', 'match', 'when', 'env']);
    expect(flat.match).toEqual(['*.py']);
    expect(flat.when).toBeInstanceOf(Date);
    expect(flat.env).toEqual({ A: '1', B: { C: '2' } });
  });

  it('folds a nested map name only at the top level', () => {
    const { table } = flattenTable({ x: { env: { A: '1' } } }, ['env']);
    expect(table).toEqual({ 'x.env.A': '1' });
  });

  it('reports a key given both quoted and bare, keeping the first value', () => {
    const table = parse('pm.max_children = 3\n"pm.max_children" = 4\n"queue.max" = 1\nqueue.max = 2\n');
    const flat = flattenTable(table);
    expect(flat.duplicates).toEqual(['pm.max_children', 'queue.max']);
    expect(flat.table['pm.max_children']).toBe(3);
  });

  it('keeps a key named __proto__ as a key', () => {
    const { table } = flattenTable(parse('"__proto__" = 1\n'));
    expect(Object.hasOwn(table, '__proto__')).toBe(true);
  });
});
