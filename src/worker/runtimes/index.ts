// This file implements the choice of runtime from the perspective of a worker starting for
// its pool: `runtime = "exec" | "python" | "node" | "handler"` becomes a loaded RuntimeHost.
import type { PoolConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import { execRuntime } from './exec.ts';
import type { RuntimeHost } from './types.ts';

/** What every runtime gets at start. */
export interface RuntimeDeps {
  readonly log: Logger;
  /** The worker's environment (python: the runner's, under `clear_env = false`). */
  readonly inherited?: Readonly<Record<string, string | undefined>>;
  /**
   * Asks for this worker to be replaced once the request in flight has ended, because a script
   * left it in a state the runtime cannot put back (node: `reason` names what). Called before
   * that request's END_REQUEST is written.
   */
  readonly recycle?: (reason: string) => void;
}

/**
 * Loads the pool's runtime; resolves once it can serve requests.
 * @throws DaemonError naming the cause when it cannot start (missing interpreter, bad module).
 */
export async function createRuntime(pool: PoolConfig, deps: RuntimeDeps): Promise<RuntimeHost> {
  switch (pool.runtime) {
    case 'exec':
      return { run: execRuntime, close: () => Promise.resolve() };
    // Loaded on demand: a worker only loads the code of its own pool's runtime.
    case 'python':
      return (await import('./python/python.ts')).createPythonRuntime(pool, deps);
    case 'node':
      return (await import('./node/node.ts')).createNodeRuntime(pool, deps);
    case 'handler':
      return (await import('./handler/handler.ts')).createHandlerRuntime(pool, deps);
  }
}
