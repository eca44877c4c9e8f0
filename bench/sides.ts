// This file implements who spends the CPU from the perspective of the report's "CPU per
// request of each side": every process of a server is the front (nginx, Apache), the manager
// (cgi-fpm's supervisor, PHP-FPM's master, fcgiwrap's parent), a worker (cgi-fpm workers,
// PHP-FPM children, fcgiwrap children, mod_wsgi daemon processes, the Node floor's children) or a runtime child (python
// runner, exec'd scripts), told by its place in the server's process tree.
import type { Cgroup } from './cgroups.ts';
import type { TreeMember } from './proc.ts';

/** The sides of a request, in the order the table prints them. */
export const SIDES = ['front', 'manager', 'workers', 'runtime'] as const;

/** One side. */
export type Side = (typeof SIDES)[number];

/** How to read one server's processes for one target. */
export interface ServerWatch {
  /** What the report calls the server (`nginx`, `cgi-fpm`, `php-fpm`…). */
  readonly name: string;
  /** The root of its process tree (the PID the bench started). */
  readonly rootPid: number;
  /** Its own cgroup, when the machine lets the bench make one. */
  readonly cgroup: Cgroup | undefined;
  /** True when {@link side} needs the command line (mod_wsgi's `(wsgi:GROUP)` title). */
  readonly readsCommandLines: boolean;
  /** The side of a member of the tree; undefined when it is not this target's. */
  side(member: TreeMember, commandLine: string): Side | undefined;
  /**
   * Where the cgroup's CPU that no live process shows goes: children that ran and exited
   * during the slice (exec'd scripts). Undefined: reported as unattributed.
   */
  readonly remainder?: Side;
}

type Make = (rootPid: number, cgroup: Cgroup | undefined) => ServerWatch;

/** nginx: master and workers are all front. */
export const nginxWatch: Make = (rootPid, cgroup) => ({
  name: 'nginx',
  rootPid,
  cgroup,
  readsCommandLines: false,
  side: () => 'front',
});

/** cgi-fpm: supervisor → workers → runtime children (python runner, exec'd scripts). */
export const cgiFpmWatch: Make = (rootPid, cgroup) => ({
  name: 'cgi-fpm',
  rootPid,
  cgroup,
  readsCommandLines: false,
  side: ({ depth }) => (depth === 0 ? 'manager' : depth === 1 ? 'workers' : 'runtime'),
  remainder: 'runtime',
});

/**
 * fcgiwrap under the bench's reaper: reaper and fcgiwrap's parent manage, its preforked
 * children serve, their children are the scripts (reaped by SIG_IGN, so only the cgroup sees
 * their CPU once they are gone).
 */
export const fcgiwrapWatch: Make = (rootPid, cgroup) => ({
  name: 'fcgiwrap',
  rootPid,
  cgroup,
  readsCommandLines: false,
  side: ({ depth }) => (depth <= 1 ? 'manager' : depth === 2 ? 'workers' : 'runtime'),
  remainder: 'runtime',
});

/** A master and the children it forked (PHP-FPM, the Node floor's cluster), named `name`. */
function preforkWatch(name: string): Make {
  return (rootPid, cgroup) => ({
    name,
    rootPid,
    cgroup,
    readsCommandLines: false,
    side: ({ depth }) => (depth === 0 ? 'manager' : 'workers'),
  });
}

/** PHP-FPM: the master and its pool's children. */
export const phpFpmWatch: Make = preforkWatch('php-fpm');

/** The Node floor (peers/fcgi-floor.ts): the cluster's primary and its children. */
export const nodeFloorWatch: Make = preforkWatch('node-floor');

/**
 * Apache with mod_wsgi, for the target served by daemon group `group`: the parent and its MPM
 * children are the front, that group's daemon processes (titled `(wsgi:GROUP)` by
 * `display-name=%{GROUP}`) the workers; another group's daemons are another target's.
 */
export function apacheWatch(group: string): Make {
  return (rootPid, cgroup) => ({
    name: 'apache',
    rootPid,
    cgroup,
    readsCommandLines: true,
    side: (_member, commandLine) => {
      if (!commandLine.startsWith('(wsgi:')) return 'front';
      return commandLine.startsWith(`(wsgi:${group})`) ? 'workers' : undefined;
    },
  });
}
