// This file implements the bench's web server from the perspective of wrk: ONE nginx (the
// integration tests' helper) with a 127.0.0.1 port per FastCGI target, started with fresh ports
// again if another process took one in between, then moved into a cgroup of its own.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freeLoopbackPort } from '../test/integration/helpers/free-port.ts';
import { startNginx, type Nginx } from '../test/integration/helpers/nginx.ts';
import { socketOf } from './backends.ts';
import type { Cgroup, Cgroups } from './cgroups.ts';
import { allProcesses, processTree } from './proc.ts';
import { benchSite, type SiteTarget } from './nginx-site.ts';
import type { Target } from './targets.ts';
import type { Workspace } from './workspace.ts';

const ATTEMPTS = 3;

/** The started nginx and the port of each target. */
export interface Front {
  readonly nginx: Nginx;
  readonly sites: readonly SiteTarget[];
  /** nginx's cgroup (master and workers), when the machine allows one. */
  readonly cgroup: Cgroup | undefined;
}

/** Distinct free loopback ports, one per target. */
async function sitesFor(targets: readonly Target[], workspace: Workspace): Promise<SiteTarget[]> {
  const taken = new Set<number>();
  const sites: SiteTarget[] = [];
  for (const target of targets) {
    let port = await freeLoopbackPort();
    while (taken.has(port)) port = await freeLoopbackPort();
    taken.add(port);
    const root = target.runtime === 'handler' ? workspace.appRoot : workspace.cgiBin;
    sites.push({ target, port, root, socket: socketOf(target, workspace) });
  }
  return sites;
}

/** The URL wrk loads for `site`. */
export function urlOf(site: SiteTarget): string {
  return `http://127.0.0.1:${site.port}${site.target.path}`;
}

/**
 * Moves nginx's master and its workers into `cgroup`. The helper starts nginx itself, so it
 * cannot start inside; its workers are forked once at start and live on.
 */
async function moveInto(cgroup: Cgroup, master: number): Promise<void> {
  for (const { stat } of processTree(master, await allProcesses())) await cgroup.add(stat.pid);
}

/**
 * Starts nginx with a server per target; retries with new ports (a port picked free may be
 * taken before nginx binds it).
 *
 * @throws Error with nginx's error log after the last attempt
 */
export async function startFront(
  targets: readonly Target[],
  workspace: Workspace,
  cgroups: Cgroups | undefined,
): Promise<Front> {
  const readySocket = join(workspace.dir.path, 'nginx-ready.sock');
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const sites = await sitesFor(targets, workspace);
    await rm(readySocket, { force: true }); // a failed attempt may leave it behind
    try {
      const nginx = await startNginx({
        dir: workspace.serverDir('nginx'),
        httpSocket: readySocket,
        site: benchSite(sites, readySocket),
      });
      try {
        const cgroup = await cgroups?.group(`nginx-${attempt}`);
        if (cgroup !== undefined) await moveInto(cgroup, nginx.pid);
        return { nginx, sites, cgroup };
      } catch (err) {
        await nginx.stop();
        throw new Error(`bench: nginx: cgroup: ${(err as Error).message}`, { cause: err });
      }
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`bench: nginx did not start in ${ATTEMPTS} attempts: ${(lastError as Error).message}`, {
    cause: lastError,
  });
}
