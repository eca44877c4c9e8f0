// This file implements the tests of suggest.ts from the perspective of an operator who
// misspelled a key.

import { describe, expect, it } from 'vitest';
import { editDistance, suggestKey } from './suggest.ts';

const POOL = [
  'listen',
  'listen.mode',
  'listen.backlog',
  'root',
  'match',
  'pm',
  'pm.max_children',
  'clear_env',
  'env',
];

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['pm.max_chidren', 'pm.max_children', 1],
    ['pm.max_chlidren', 'pm.max_children', 2],
    ['same', 'same', 0],
  ])('%j → %j is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('suggestKey', () => {
  it.each([
    ['pm.max_chidren', 'pm.max_children'],
    ['pm.maxchildren', 'pm.max_children'],
    ['PM.MAX_CHILDREN', 'pm.max_children'],
    ['max_children', 'pm.max_children'],
    ['backlog', 'listen.backlog'],
    ['listn', 'listen'],
    ['clearenv', 'clear_env'],
    ['roots', 'root'],
  ])('suggests %j for %j', (unknown, known) => {
    expect(suggestKey(unknown, POOL)).toBe(known);
  });

  it.each(['colour', 'x', 'request_timeout', 'user'])('suggests nothing for %j', (unknown) => {
    expect(suggestKey(unknown, POOL)).toBeUndefined();
  });
});
