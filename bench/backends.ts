// This file implements the servers behind nginx from the perspective of the bench loop: one
// cgi-fpm daemon for the cgi-fpm targets and one fcgiwrap for the fcgiwrap targets; a server
// that does not start fails its rows, not the run.
import { benchConfig, startCgiFpm, type CgiFpm } from './cgi-fpm.ts';
import type { Child } from './child.ts';
import type { Cleanup } from './cleanup.ts';
import { startFcgiwrap } from './fcgiwrap.ts';
import type { Interpreters } from './interpreters.ts';
import type { RowContext } from './measure.ts';
import type { Target } from './targets.ts';
import type { Tools } from './tools.ts';
import type { Workspace } from './workspace.ts';

/** A started server, or why it is not. */
type Started<T> = { readonly ok: true; readonly server: T } | { readonly ok: false; readonly error: string };

/** The running servers. */
export interface Backends {
  readonly cgiFpm: Started<CgiFpm>;
  readonly fcgiwrap: Started<Child>;
}

/** The socket nginx passes `target`'s requests to. */
export function socketOf(target: Target, workspace: Workspace): string {
  return workspace.socket(target.backend === 'cgi-fpm' ? target.id : 'fcgiwrap');
}

async function attempt<T>(start: () => Promise<T>): Promise<Started<T>> {
  try {
    return { ok: true, server: await start() };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Starts cgi-fpm (pools for the cgi-fpm targets) and fcgiwrap, registering their stops. */
export async function startBackends(
  targets: readonly Target[],
  workspace: Workspace,
  tools: Tools,
  interpreters: Interpreters,
  workers: number,
  cleanup: Cleanup,
): Promise<Backends> {
  const pools = targets.filter((t) => t.backend === 'cgi-fpm');
  const config = benchConfig(pools, workspace, interpreters, workers);
  const cgiFpm = await attempt(() => startCgiFpm(config, workspace.dir.path));
  if (cgiFpm.ok) cleanup.add('cgi-fpm', () => cgiFpm.server.child.stop());
  const fcgiwrap = await attempt(() =>
    startFcgiwrap(tools.fcgiwrap, workspace.socket('fcgiwrap'), workers, interpreters.python),
  );
  if (fcgiwrap.ok) cleanup.add('fcgiwrap', () => fcgiwrap.server.stop());
  return { cgiFpm, fcgiwrap };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** What a row needs from its backend. */
export type BackendContext = Pick<RowContext, 'problems' | 'startError'>;

/** The start error of `target`'s server, or where to read its complaints. */
export function backendContext(target: Target, backends: Backends): BackendContext {
  if (target.backend === 'cgi-fpm') {
    const daemon = backends.cgiFpm;
    return daemon.ok
      ? { problems: () => daemon.server.problems(target.id) }
      : { startError: daemon.error, problems: () => [] };
  }
  const wrapper = backends.fcgiwrap;
  return wrapper.ok
    ? { problems: () => lines(wrapper.server.output()) }
    : { startError: wrapper.error, problems: () => [] };
}
