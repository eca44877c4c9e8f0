// This file implements the reload check the direct-accept suites share, from the perspective of
// an operator reloading a `dispatch = "direct"` pool while clients keep sending: the new config
// replaces every worker (its old ones drain and leave), and no request of a bounded load fails.
import { expect } from 'vitest';
import type { TomlDocument } from './config-file.ts';
import { writeConfigFile } from './config-file.ts';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './control.ts';
import type { HttpResponse } from './http.ts';
import { runLoad } from './load.ts';
import type { Stack } from './stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './wait.ts';

/** What {@link reloadUnderLoad} sends, checks and reloads to. */
export interface DirectReload {
  /** The pool's name (its workers are watched in `cgi-fpm status`). */
  readonly pool: string;
  /** Request path for client `c`'s request `i`. */
  readonly path: (c: number, i: number) => string;
  /** Whether a response is right. */
  readonly ok: (response: HttpResponse) => boolean;
  /** The pools after the reload (a change that makes new workers). */
  readonly pools: TomlDocument;
}

/** Reloads to `reload.pools` under a bounded 4-client load: no request may fail. */
export async function reloadUnderLoad(s: Stack, reload: DirectReload): Promise<void> {
  const control = controlSocketIn(s.dir);
  const oldPids = (await poolStatus(control, reload.pool)).processes.map((p) => p.pid);
  let loading = true;
  let answered = 0;
  const load = runLoad({
    clients: 4, durationMs: 60_000, more: () => loading,
    send: (c, i) => s.request(reload.path(c, i)),
    check: (response) => {
      if (response.status !== 200 || !reload.ok(response)) return `status ${response.status} ${JSON.stringify(response.text.slice(0, 100))}`;
      answered += 1;
      return undefined;
    },
  });
  const replace = (async () => {
    await waitUntil('load running', () => answered >= 20, EVENT_TIMEOUT_MS, 10);
    await writeConfigFile(s.daemon.configFile, { global: { log_level: 'info', ...CONTROL_GLOBAL }, pools: reload.pools });
    const since = s.daemon.logs.length;
    process.kill(s.daemon.pid, 'SIGHUP');
    const done = await s.daemon.waitForLog((e) => e.msg === 'reloaded' || e.msg === 'reload refused, keeping the running config', EVENT_TIMEOUT_MS, since);
    expect(done.msg).toBe('reloaded');
    // The old workers drain and leave while the load goes on.
    await waitUntil('old workers gone', async () => {
      const now = await poolStatus(control, reload.pool);
      return now.processes.every((p) => !oldPids.includes(p.pid)) ? true : undefined;
    }, EVENT_TIMEOUT_MS);
    const mark = answered;
    await waitUntil('more answers after the reload', () => answered >= mark + 20, EVENT_TIMEOUT_MS, 10);
  })().finally(() => { loading = false; });
  const [result] = await Promise.all([load, replace]);
  expect(result.failures).toEqual([]);
  expect(result.ok).toBeGreaterThan(40);
}
