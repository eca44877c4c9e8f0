// This file implements the tests of who is who in a server's process tree, from the perspective
// of the CPU columns: depth tells a cgi-fpm supervisor from its workers and their runtime
// children, fcgiwrap's reaper and parent from its children and scripts, and Apache's process
// titles tell one mod_wsgi daemon group from the front and from the other group.
import { describe, expect, it } from 'vitest';
import type { TreeMember } from './proc.ts';
import { apacheWatch, cgiFpmWatch, fcgiwrapWatch, nginxWatch, phpFpmWatch } from './sides.ts';

function at(depth: number): TreeMember {
  return { stat: { pid: 1, ppid: 0, state: 'S', ownTicks: 0, childTicks: 0, startTicks: 0 }, depth };
}

describe('bench sides', () => {
  it('tells sides by depth', () => {
    const sides = (watch: ReturnType<typeof cgiFpmWatch>): unknown[] => [0, 1, 2, 3].map((d) => watch.side(at(d), ''));
    expect(sides(cgiFpmWatch(1, undefined))).toEqual(['manager', 'workers', 'runtime', 'runtime']);
    expect(sides(fcgiwrapWatch(1, undefined))).toEqual(['manager', 'manager', 'workers', 'runtime']);
    expect(sides(phpFpmWatch(1, undefined))).toEqual(['manager', 'workers', 'workers', 'workers']);
    expect(sides(nginxWatch(1, undefined))).toEqual(['front', 'front', 'front', 'front']);
    expect(cgiFpmWatch(1, undefined).remainder).toBe('runtime');
    expect(phpFpmWatch(1, undefined).remainder).toBeUndefined();
  });

  it("tells a mod_wsgi group's daemons by their title, and leaves the other group's out", () => {
    const watch = apacheWatch('cgi')(1, undefined);
    expect(watch.readsCommandLines).toBe(true);
    expect(watch.side(at(0), '/usr/sbin/apache2 -f /tmp/x/httpd.conf -DFOREGROUND')).toBe('front');
    expect(watch.side(at(1), '(wsgi:cgi)        -f /tmp/x/httpd.conf -DFOREGROUND')).toBe('workers');
    expect(watch.side(at(1), '(wsgi:native)     -f /tmp/x/httpd.conf -DFOREGROUND')).toBeUndefined();
  });
});
