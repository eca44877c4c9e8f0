// This file implements the stack the `runtime = "node"` suites share, from the perspective of
// a suite that needs node pools behind nginx: the committed node fixtures copied under the
// nginx root once per state policy, each copy the root of its own one-worker pool (one worker,
// so state kept between requests is observable), all on the daemon's one FastCGI listener.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { TomlDocument } from './helpers/config-file.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { defaultPool, type StackOptions } from './helpers/stack.ts';

/** The committed CommonJS CGI scripts (with a package.json marking the tree CommonJS). */
export const FIXTURES_NODE = join(REPO_ROOT, 'test/integration/fixtures/node');

/** One node pool: its name is also its directory under the nginx root (`/<name>/hello.js`). */
export interface NodePool {
  readonly name: string;
  /** Pool keys over the node defaults (`state.modules`, `request_terminate_timeout`…). */
  readonly keys?: TomlDocument;
}

/**
 * Stack options for node pools: each pool's root is a private copy of the node fixtures at
 * `<nginx root>/<name>`, `runtime = "node"`, `match = ["*.js"]`, one worker.
 */
export function nodeStack(pools: readonly NodePool[]): StackOptions {
  return {
    pools: async ({ root, fastcgiSocket }) => {
      const table: Record<string, TomlDocument> = {};
      for (const pool of pools) {
        const poolRoot = join(root, pool.name);
        await cp(FIXTURES_NODE, poolRoot, { recursive: true });
        table[pool.name] = {
          ...defaultPool(poolRoot, fastcgiSocket),
          runtime: 'node',
          match: ['*.js'],
          pm: { max_children: 1 },
          ...pool.keys,
        };
      }
      return table;
    },
  };
}
