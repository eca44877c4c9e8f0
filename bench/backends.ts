// This file implements the servers behind the front from the perspective of the bench loop: a
// cgi-fpm daemon per cgi-fpm target, one fcgiwrap, one PHP-FPM, one Apache with mod_wsgi and
// the Node floor, each in its own cgroup when the machine allows; a server that does not start
// fails its rows, not the run.
import { startApacheWsgi, wsgiGroup } from './apache-wsgi.ts';
import { benchConfig, startCgiFpm } from './cgi-fpm.ts';
import type { Cgroup, Cgroups } from './cgroups.ts';
import type { Child } from './child.ts';
import type { Cleanup } from './cleanup.ts';
import { startFcgiwrap } from './fcgiwrap.ts';
import { startNodeFloor } from './node-floor.ts';
import type { Interpreters } from './interpreters.ts';
import type { RowContext } from './measure.ts';
import { startPhpFpm } from './php-fpm.ts';
import { apacheWatch, cgiFpmWatch, fcgiwrapWatch, nodeFloorWatch, phpFpmWatch, type ServerWatch } from './sides.ts';
import type { Target } from './targets.ts';
import type { Tools } from './tools.ts';
import type { Workspace } from './workspace.ts';

/** A started server, as the rows need it. */
interface RunningServer {
  /** The PID the bench started: the root of the server's process tree. */
  readonly pid: number;
  readonly cgroup: Cgroup | undefined;
  /** Its warnings and errors about `target` so far, as short lines. */
  problems(target: Target): readonly string[];
  /** Apache's loopback port per target id (mod_wsgi only: Apache is its own front). */
  readonly ports?: ReadonlyMap<string, number>;
}

/** A started server, or why it is not. */
type Started =
  { readonly ok: true; readonly server: RunningServer } | { readonly ok: false; readonly error: string };

/** The running servers, by {@link serverOf}. */
export type Backends = ReadonlyMap<string, Started>;

/** What starting the servers needs. */
export interface BackendSetup {
  readonly workspace: Workspace;
  readonly tools: Tools;
  readonly interpreters: Interpreters;
  /** cgi-fpm's `pm.max_children`, fcgiwrap's `-c`, PHP-FPM's static children, mod_wsgi's `processes`. */
  readonly workers: number;
  readonly cgroups: Cgroups | undefined;
}

/** The server a target runs on: its own cgi-fpm daemon, or the peer's single server. */
export function serverOf(target: Target): string {
  return target.backend === 'cgi-fpm'
    ? `cgi-fpm-${target.id}`
    : target.backend === 'mod_wsgi'
      ? 'apache'
      : target.backend;
}

/** The FastCGI socket nginx passes `target`'s requests to (not for mod_wsgi, which Apache serves). */
export function socketOf(target: Target, workspace: Workspace): string {
  return workspace.socket(target.backend === 'cgi-fpm' ? target.id : target.backend);
}

function tool(setup: BackendSetup, name: Parameters<Tools['peer']>[0]): string {
  const found = setup.tools.peer(name);
  if (typeof found !== 'string') throw found;
  return found;
}

/** A child's output so far, its non-blank lines (fcgiwrap and the Node floor print only problems). */
function outputLines(child: Child): string[] {
  return child.output().split('\n').filter((l) => l.trim() !== '');
}

/** Starts the server `key` for `targets` (those that run on it) and registers its stop. */
async function startServer(
  key: string,
  targets: readonly Target[],
  setup: BackendSetup,
  cleanup: Cleanup,
): Promise<RunningServer> {
  const { workspace, interpreters, workers } = setup;
  const cgroup = await setup.cgroups?.group(key);
  const first = targets[0];
  if (first === undefined) throw new Error(`bench: no target for ${key}`);
  switch (first.backend) {
    case 'cgi-fpm': {
      const config = benchConfig(targets, workspace, interpreters, workers);
      const daemon = await startCgiFpm(config, workspace.serverDir(key), { cgroup });
      cleanup.add(key, () => daemon.child.stop());
      return { pid: daemon.child.pid, cgroup, problems: (t) => daemon.problems(t.id) };
    }
    case 'fcgiwrap': {
      const child = await startFcgiwrap(
        tool(setup, 'fcgiwrap'),
        socketOf(first, workspace),
        workers,
        interpreters.python,
        cgroup,
      );
      cleanup.add(key, () => child.stop());
      return { pid: child.pid, cgroup, problems: () => outputLines(child) };
    }
    case 'php-fpm': {
      const fpm = await startPhpFpm(
        tool(setup, 'phpFpm'),
        workspace.serverDir(key),
        socketOf(first, workspace),
        workers,
        cgroup,
      );
      cleanup.add(key, () => fpm.child.stop());
      return { pid: fpm.child.pid, cgroup, problems: () => fpm.problems() };
    }
    case 'node-floor': {
      const child = await startNodeFloor(socketOf(first, workspace), workers, cgroup);
      cleanup.add(key, () => child.stop());
      return { pid: child.pid, cgroup, problems: () => outputLines(child) };
    }
    case 'mod_wsgi': {
      tool(setup, 'modWsgi');
      const sites = targets.map((target) => ({
        target,
        script: workspace.wsgiScript[target.wsgi ?? 'native'],
      }));
      const apache = await startApacheWsgi({
        binary: tool(setup, 'apache'),
        dir: workspace.serverDir(key),
        sites,
        home: workspace.cgiBin,
        workers,
        cgroup,
      });
      cleanup.add(key, () => apache.child.stop());
      return { pid: apache.child.pid, cgroup, problems: () => apache.problems(), ports: apache.ports };
    }
  }
}

/** Starts every server the targets need, one after another, registering their stops. */
export async function startBackends(
  targets: readonly Target[],
  setup: BackendSetup,
  cleanup: Cleanup,
): Promise<Backends> {
  const byServer = new Map<string, Target[]>();
  for (const target of targets)
    byServer.set(serverOf(target), [...(byServer.get(serverOf(target)) ?? []), target]);
  const backends = new Map<string, Started>();
  for (const [key, served] of byServer) {
    try {
      backends.set(key, { ok: true, server: await startServer(key, served, setup, cleanup) });
    } catch (err) {
      backends.set(key, { ok: false, error: (err as Error).message });
    }
  }
  return backends;
}

/** How the CPU sampler reads `target`'s server. */
function watchOf(target: Target, server: RunningServer): ServerWatch {
  switch (target.backend) {
    case 'cgi-fpm':
      return cgiFpmWatch(server.pid, server.cgroup);
    case 'fcgiwrap':
      return fcgiwrapWatch(server.pid, server.cgroup);
    case 'php-fpm':
      return phpFpmWatch(server.pid, server.cgroup);
    case 'node-floor':
      return nodeFloorWatch(server.pid, server.cgroup);
    case 'mod_wsgi':
      return apacheWatch(wsgiGroup(target))(server.pid, server.cgroup);
  }
}

/** What a row needs from its backend. */
export type BackendContext = Pick<RowContext, 'problems' | 'startError' | 'watches'> & {
  /** Apache's port for a mod_wsgi target. */
  readonly port?: number;
};

/** The start error of `target`'s server, or where to read its complaints and CPU. */
export function backendContext(target: Target, backends: Backends): BackendContext {
  const started = backends.get(serverOf(target));
  if (started === undefined)
    return { startError: `bench: ${serverOf(target)} not started`, problems: () => [], watches: [] };
  if (!started.ok) return { startError: started.error, problems: () => [], watches: [] };
  const { server } = started;
  const port = server.ports?.get(target.id);
  return {
    problems: () => server.problems(target),
    watches: [watchOf(target, server)],
    ...(port === undefined ? {} : { port }),
  };
}
