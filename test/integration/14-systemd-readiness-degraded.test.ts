// This file implements systemd's view of a pool that cannot start (issue 14, item 3) from the
// perspective of the service manager (a NOTIFY_SOCKET the test binds itself): a handler module
// that throws on load must never get READY=1; STATUS= says "degraded" naming the pool and the
// cause; past --ready-timeout the daemon stops and exits 70, leaving no worker. A pool fixed
// during the wait gets READY=1 once its worker runs.
import { mkdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from './helpers/daemon.ts';
import { startNotifyReceiver, type Notification } from './helpers/notify-socket.ts';
import { childPids, waitForProcessesGone } from './helpers/processes.ts';
import { writeScript } from './helpers/scripts.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';

const BROKEN_MODULE = "'use strict';\nthrow new Error('api module broken on purpose');\n";
const WORKING_MODULE =
  "'use strict';\nmodule.exports = (req, res) => { res.setHeader('Content-Type', 'text/plain'); res.end('api ok'); };\n";
const HELLO_SH = '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nhello\\n"\n';

let tmp: TempDir;
let dir: string;

beforeAll(async () => {
  tmp = await createTempDir('cgi-fpm-degraded-');
  dir = await realpath(tmp.path);
  await writeScript(join(dir, 'www'), 'hello.sh', HELLO_SH);
});

afterAll(async () => {
  await tmp.remove();
});

/** A healthy exec pool and a handler pool loading `api.cjs` from `sub`. */
async function writePools(sub: string, module: string): Promise<Record<string, unknown>> {
  await writeScript(join(dir, sub), 'api.cjs', module);
  return {
    global: { log_level: 'info' },
    pools: {
      www: { listen: join(dir, `${sub}-www.sock`), root: join(dir, 'www'), pm: { max_children: 1 } },
      api: {
        listen: join(dir, `${sub}-api.sock`),
        root: join(dir, sub),
        runtime: 'handler',
        'handler.module': join(dir, sub, 'api.cjs'),
        pm: { max_children: 2 },
      },
    },
  };
}

function statusOf(n: Notification): string {
  return n.fields.find((f) => f.startsWith('STATUS='))?.slice('STATUS='.length) ?? '';
}

describe('a pool whose handler module throws on load, under systemd (Type=notify)', () => {
  it('gets no READY=1, a STATUS=degraded naming the pool and cause, then exit 70 past --ready-timeout', async () => {
    const receiver = await startNotifyReceiver(dir);
    const daemon = await startDaemon({
      dir,
      configName: 'broken.toml',
      config: await writePools('broken', BROKEN_MODULE),
      args: ['--ready-timeout', '6s'],
      env: { NOTIFY_SOCKET: receiver.path },
    });
    try {
      const degraded = await receiver.waitFor((n) => statusOf(n).startsWith('degraded: '), 20_000);
      expect(degraded.fields).not.toContain('READY=1');
      expect(statusOf(degraded)).toMatch(
        /^degraded: pool "api": 0 of 2 workers running \(.*api module broken on purpose.*\); 1 of 2 pools ready, waiting up to 6s$/,
      );
      const warned = await daemon.waitForLog((e) => e.msg === 'pools degraded, waiting for their workers');
      expect(warned.pools).toEqual([expect.objectContaining({ pool: 'api', running: 0, wanted: 2 })]);
      const workers = childPids(daemon.pid);

      const exit = await daemon.exited;
      expect(exit).toEqual({ code: 70, signal: null });
      const fatal = daemon.logs.find((e) => e.msg === 'failed to start: pools without their initial workers');
      expect(fatal?.pools).toEqual([expect.objectContaining({ pool: 'api', wanted: 2 })]);
      expect(receiver.received.some((n) => n.fields.includes('READY=1'))).toBe(false);
      expect(receiver.received.some((n) => n.fields.includes('STOPPING=1'))).toBe(true);
      await waitForProcessesGone(workers, undefined, 10_000);
    } finally {
      await daemon.stop();
      await receiver.stop();
    }
  });

  it('sends READY=1 once the module is fixed and the pool\'s workers run, within the wait', async () => {
    await mkdir(join(dir, 'n2'));
    const receiver = await startNotifyReceiver(join(dir, 'n2'));
    const config = await writePools('fixed', BROKEN_MODULE);
    const daemon = await startDaemon({
      dir,
      configName: 'fixed.toml',
      config,
      args: ['--ready-timeout', '120s'],
      env: { NOTIFY_SOCKET: receiver.path },
    });
    try {
      await receiver.waitFor((n) => statusOf(n).startsWith('degraded: pool "api"'), 20_000);
      await writeFile(join(dir, 'fixed', 'api.cjs'), WORKING_MODULE);
      // The crash backoff probes again within a few seconds (1 s, 2 s, 4 s … apart).
      const ready = await receiver.waitFor(['READY=1'], 60_000);
      // The fix also starts the module watch's rolling restart of the pool: READY=1 may come
      // while its replacement worker is still starting (4 workers for a moment), or after.
      expect(statusOf(ready)).toMatch(/^2 pools, workers: 0 busy, 3 idle(, 1 starting)?; 0\.0 req\/s$/);
      await daemon.waitForLog((e) => e.msg === 'every pool has its initial workers');
      expect(await daemon.stop()).toBe(0);
    } finally {
      await daemon.stop();
      await receiver.stop();
    }
  });
});

describe('without a service manager', () => {
  it('serves the pools that work and logs the degraded pool, without exiting', async () => {
    const daemon = await startDaemon({ dir, configName: 'plain.toml', config: await writePools('plain', BROKEN_MODULE) });
    try {
      const warned = await daemon.waitForLog((e) => e.msg === 'pools degraded, serving the pools that work', 20_000);
      expect(warned.pools).toEqual([expect.objectContaining({ pool: 'api' })]);
      expect(daemon.logs.some((e) => e.msg === 'failed to start: pools without their initial workers')).toBe(false);
      expect(await daemon.stop()).toBe(0);
    } finally {
      await daemon.stop();
    }
  });
});
