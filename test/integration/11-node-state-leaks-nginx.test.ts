// This file implements issue 11's "reset means reset" for `runtime = "node"` from the perspective
// of two users sending requests through a real nginx to the same worker: for every row of
// docs/ISOLATION-node.md's table, user A's request changes one kind of interpreter-wide state
// (Object.prototype polluted, crypto.randomBytes patched to return zeros, the umask, process
// listeners…) and user B's next request looks for it. Under `state.globals = "reset"` B never
// sees it and the worker stays the same; under "keep" B sees what the table says is kept; what
// cannot be put back gets the worker replaced before B's request.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALWAYS_RESET,
  readProbe,
  STATE_PROBES,
  stateProbeScript,
  type StateProbe,
} from '../../src/worker/runtimes/node/state-probes-test-peer.ts';
import type { TomlDocument } from './helpers/config-file.ts';
import { waitForEvent } from './helpers/logs.ts';
import { defaultPool, type StackOptions } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';

const HEAD = String.raw`process.stdout.write('Content-Type: text/plain\r\n\r\n');`;

/** The scripts of both pools. */
const SCRIPTS: Record<string, string> = {
  'state.js': stateProbeScript(),
  'pid.js': `#!/usr/bin/env node\n${HEAD} process.stdout.write('pid=' + process.pid);`,
  'freeze.js': `#!/usr/bin/env node\n${HEAD} Object.freeze(JSON); process.stdout.write('pid=' + process.pid);`,
  'server-exit.js': `#!/usr/bin/env node
require('net').createServer().listen(0, '127.0.0.1', () => { ${HEAD} process.stdout.write('pid=' + process.pid); process.exit(0); });`,
  'late-secret.js': `#!/usr/bin/env node
${HEAD} process.stdout.write('pid=' + process.pid);
require('crypto').pbkdf2('user A', 'salt', 3e6, 16, 'sha256', () => { process.stdout.write(' SECRET-OF-USER-A'); console.log('SECRET-OF-USER-A'); });
process.exit(0);`,
};

/** Two one-worker pools on one listener: `/reset/…` (the defaults) and `/keep/…`. */
function stackOptions(): StackOptions {
  return {
    pools: async ({ root, fastcgiSocket }) => {
      const pools: Record<string, TomlDocument> = {};
      const keys: Record<string, TomlDocument> = {
        reset: {},
        // Two requests per worker: each row's change and its check meet one fresh worker.
        keep: { 'state.globals': 'keep', 'state.modules': 'keep', pm: { max_children: 1, max_requests: 2 } },
      };
      for (const [name, extra] of Object.entries(keys)) {
        const poolRoot = join(root, name);
        await mkdir(poolRoot, { recursive: true });
        for (const [file, text] of Object.entries(SCRIPTS)) await writeFile(join(poolRoot, file), text, { mode: 0o755 });
        pools[name] = {
          ...defaultPool(poolRoot, fastcgiSocket),
          runtime: 'node',
          match: ['*.js'],
          umask: '0027',
          pm: { max_children: 1 },
          ...extra,
        };
      }
      return pools;
    },
  };
}

const stack = useStack(stackOptions());
const ROWS = Object.keys(STATE_PROBES) as StateProbe[];

async function probe(pool: string, query: string): Promise<{ pid: number; seen: boolean | undefined; text: string }> {
  const res = await stack().request(`/${pool}/state.js?${query}`);
  expect(res.status).toBe(200);
  return { ...readProbe(res.text), text: res.text };
}

async function pidOf(path: string): Promise<number> {
  const res = await stack().request(path);
  expect(res.status).toBe(200);
  return Number(/pid=(\d+)/.exec(res.text)?.[1]);
}

describe('node runtime behind nginx: state.globals = reset', () => {
  it.each(ROWS)('%s: user B never sees what user A changed, and the worker stays', async (row) => {
    const before = await pidOf('/reset/pid.js');
    const set = await probe('reset', `set=${row}`);
    expect(set.text).toContain(`set=${row}`);
    const check = await probe('reset', `check=${row}`);
    expect(check.seen).toBe(false);
    expect([set.pid, check.pid]).toEqual([before, before]);
  });

  it('a built-in frozen by user A: the worker is replaced before user B, and says why', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const frozenBy = await pidOf('/reset/freeze.js');
    const recycling = await waitForEvent(daemon, 'worker recycling', since);
    expect(recycling).toMatchObject({ pool: 'reset', pid: frozenBy });
    expect(String(recycling.reason)).toContain('JSON: made non-extensible');
    const recycled = await waitForEvent(daemon, 'worker recycled', since);
    expect(recycled).toMatchObject({ pool: 'reset', workerPid: frozenBy, reason: 'state' });
    const next = await pidOf('/reset/pid.js');
    expect(next).not.toBe(frozenBy);
    expect((await probe('reset', 'check=json')).seen).toBe(false);
  });

  it('a server left listening after process.exit: the worker is replaced, naming it', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const leftBy = await pidOf('/reset/server-exit.js');
    const recycling = await waitForEvent(daemon, 'worker recycling', since);
    expect(String(recycling.reason)).toContain('left running: TCPServerWrap');
    expect(await pidOf('/reset/pid.js')).not.toBe(leftBy);
  });

  it("a callback of user A still running after its exit never reaches user B's response", async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/reset/late-secret.js');
    expect(res.text).not.toContain('SECRET');
    const b = await stack().request('/reset/pid.js');
    expect(b.status).toBe(200);
    expect(b.text).not.toContain('SECRET');
    // The job outlived the settle time: the worker that ran it was replaced.
    const recycling = await waitForEvent(daemon, 'worker recycling', since);
    expect(String(recycling.reason)).toContain('thread-pool job');
    expect(daemon.logs.slice(since).some((line) => JSON.stringify(line).includes('SECRET'))).toBe(false);
  });
});

describe('node runtime behind nginx: state.globals = keep', () => {
  it.each(ROWS)('%s: user B sees it unless it belongs to the script\'s own process', async (row) => {
    const set = await probe('keep', `set=${row}`);
    const check = await probe('keep', `check=${row}`);
    expect(check.pid).toBe(set.pid);
    expect(check.seen).toBe(!ALWAYS_RESET.has(row));
  });
});
