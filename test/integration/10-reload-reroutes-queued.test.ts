// This file implements issue 10 item 7 ("requests queued before a reload that narrows `match`")
// from the perspective of a client whose request waits in a pool's queue while the operator
// reloads a config that no longer lets the pool run that script: the queued request was handed
// to the successor pool on its old route and ran the now-excluded script. Now it is routed
// again under the new config: refused (403, "script refused"), while a queued request for a
// script still matched runs in the new pool.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { writeConfigFile } from './helpers/config-file.ts';
import { CONTROL_GLOBAL, cliReload, controlSocketIn, poolStatus } from './helpers/control.ts';
import { fcgiRequest } from './helpers/fastcgi-client.ts';
import { GateSlot } from './helpers/gate.ts';
import { writeScript } from './helpers/scripts.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const SCRIPT = (name: string): string => `#!/bin/sh\n# Written by the test.\nprintf 'Content-Type: text/plain\\r\\n\\r\\n${name}\\n'\n`;

const gate = new GateSlot();
/** The pool; `match` is what the reload narrows. */
function pool(root: string, fastcgiSocket: string, match: string[]): Record<string, unknown> {
  return { listen: fastcgiSocket, 'listen.mode': '0666', root, match, pm: { max_children: 1 }, env: { PATH: '/usr/bin:/bin' } };
}
const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ dir, root, fastcgiSocket }) => {
    await gate.open(dir, join(root, 'hold.sh'));
    await writeScript(root, 'kept.sh', SCRIPT('kept'));
    await writeScript(root, 'dropped.sh', SCRIPT('dropped'));
    return { main: pool(root, fastcgiSocket, ['hold.sh', 'kept.sh', 'dropped.sh']) };
  },
});

describe('a reload that narrows match while requests wait in the queue', () => {
  it('routes them again: the excluded script is refused, the kept one runs', { timeout: 120_000 }, async () => {
    const { daemon, dir, root, fastcgiSocket } = stack();
    const ask = (script: string): ReturnType<typeof fcgiRequest> =>
      fcgiRequest({ socketPath: fastcgiSocket, params: nginxLikeParams(root, script, { QUERY_STRING: 'h' }), timeoutMs: 90_000 });
    const held = ask('/hold.sh');
    try {
      await gate.get().waitStarted('h');
      const dropped = ask('/dropped.sh');
      const kept = ask('/kept.sh');
      await waitUntil('two requests queued', async () => (await poolStatus(controlSocketIn(dir), 'main')).queueLength === 2, EVENT_TIMEOUT_MS);
      const since = daemon.logs.length;
      await writeConfigFile(daemon.configFile, {
        global: { log_level: 'info', ...CONTROL_GLOBAL }, pools: { main: pool(root, fastcgiSocket, ['hold.sh', 'kept.sh']) },
      });
      expect((await cliReload(daemon.configFile, dir)).code).toBe(0);
      const refused = await dropped;
      expect(parseCgiResponse(refused.stdout).status).toBe(403);
      const ran = await kept;
      expect([parseCgiResponse(ran.stdout).status, parseCgiResponse(ran.stdout).body.toString()]).toEqual([200, 'kept\n']);
      expect(daemon.logs.slice(since).some((l) => l.msg === 'script refused' && String(l.script).endsWith('dropped.sh'))).toBe(true);
    } finally {
      await gate.get().release('h');
      await held;
    }
  });
});
