// Tests of the machine fork-cost probe: its output line read per fork, garbage refused.
import { describe, expect, it } from 'vitest';
import { parseForkCost } from './fork-cost.ts';

describe('fork cost', () => {
  it('reads parent and child CPU per fork and the RSS', () => {
    expect(parseForkCost('0.05 0.2 13536\n', 100)).toEqual({ parentUs: 500, childUs: 2000, rssKb: 13536 });
  });

  it('refuses output it cannot read', () => {
    expect(() => parseForkCost('Traceback', 100)).toThrow(/fork cost: unreadable/);
  });
});
