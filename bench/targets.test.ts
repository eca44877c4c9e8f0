// This file implements the tests of the bench's rows and ratios from the perspective of the
// report: every ratio names rows that exist, the peers each cgi-fpm row is judged by are
// there with issue 13's goal, and only mod_wsgi rows are served by Apache.
import { describe, expect, it } from 'vitest';
import { frontOf, RATIOS, TARGETS } from './targets.ts';

describe('bench targets', () => {
  it('has unique ids and ratios between existing rows', () => {
    const ids = TARGETS.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of RATIOS) {
      expect(ids).toContain(r.numerator);
      expect(ids).toContain(r.denominator);
    }
  });

  it('judges cgi-fpm against each peer with a goal of at least 1×', () => {
    const goals = Object.fromEntries(RATIOS.map((r) => [r.id, r.goal]));
    expect(goals).toMatchObject({
      'python-persistent/python-wsgi-cgi': 1,
      'python-persistent/python-wsgi': 1,
      'handler/php-fpm': 1,
      'handler-direct/php-fpm': 1,
      'python-direct/python-wsgi-cgi': 1,
      'python-direct-keepalive/python-wsgi-cgi': 1,
      'node-persistent/python-wsgi-cgi': 1,
      'sh-exec/sh-fcgiwrap': 1,
      'python-exec/python-fcgiwrap': 1,
    });
  });

  it('fronts mod_wsgi with Apache and everything else with nginx', () => {
    expect(TARGETS.filter((t) => frontOf(t) === 'apache').map((t) => t.id)).toEqual(['python-wsgi-cgi', 'python-wsgi']);
  });
});
