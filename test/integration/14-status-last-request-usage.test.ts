// This file implements `last request cpu` and `last request memory` (issue 14, item 1) and the
// access log's `%C`/`%M` (item 2) from the perspective of an operator reading them as PHP-FPM's
// behind nginx: a script that burns CPU shows a CPU % above 0 and its worker's memory in the
// `?full` status view and in the access log, for an exec pool (the CGI child counted once
// reaped) and a python pool (the runner counted through its process group leader); and a python
// pool's slow log entry with the running frame (the script's function and line), and a node
// pool's without the sampler thread (`slowlog_stack = false`) with what a waiting script waits
// on, or that its event loop is busy.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeScript } from './helpers/scripts.ts';
import { defaultPool, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

/** Burns ~0.4 s of CPU in the shell, then answers. */
const BURN_SH = [
  '#!/bin/sh',
  'end=$(($(date +%s%N) + 400000000))',
  'while [ "$(date +%s%N)" -lt "$end" ]; do i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; done',
  'printf "Content-Type: text/plain\\r\\n\\r\\nburnt\\n"',
  '',
].join('\n');

/** Burns ~0.4 s of CPU in python, then answers. */
const BURN_PY = [
  '#!/usr/bin/env python3',
  'import time',
  'def burn_cpu():',
  '    end = time.process_time() + 0.4',
  '    n = 0',
  '    while time.process_time() < end:',
  '        n += 1',
  '    return n',
  'burn_cpu()',
  'print("Content-Type: text/plain")',
  'print()',
  'print("burnt")',
  '',
].join('\n');

/** Stays ~1.5 s in a function of its own, in a loop that sleeps, then answers. */
const STUCK_PY = [
  '#!/usr/bin/env python3',
  'import time',
  'def stuck_in_loop():',
  '    end = time.monotonic() + 1.5',
  '    while time.monotonic() < end:',
  '        time.sleep(0.01)',
  'stuck_in_loop()',
  'print("Content-Type: text/plain")',
  'print()',
  'print("done")',
  '',
].join('\n');

/** A node script that waits 1.5 s on a timer, and one that keeps the event loop busy 1.5 s. */
const WAIT_JS = "setTimeout(() => { process.stdout.write('Content-Type: text/plain\\r\\n\\r\\nwaited\\n'); }, 1500);\n";
const BUSY_JS = "const end = Date.now() + 1500;\nwhile (Date.now() < end);\nprocess.stdout.write('Content-Type: text/plain\\r\\n\\r\\nbusy\\n');\n";

const stack = useStack({
  pools: async (paths: StackPaths) => {
    await writeScript(join(paths.root, 'usage-py'), 'burn.py', BURN_PY);
    await writeScript(join(paths.root, 'usage-sh'), 'burn.sh', BURN_SH);
    await writeScript(join(paths.root, 'usage-pyslow'), 'stuck.py', STUCK_PY);
    await writeScript(join(paths.root, 'usage-jsslow'), 'wait.js', WAIT_JS);
    await writeScript(join(paths.root, 'usage-jsslow'), 'busy.js', BUSY_JS);
    const access = { log: join(paths.dir, 'logs', 'usage.log'), format: '"%m %r%Q%q" %s %C %M %{kilo}M' };
    return {
      pyslow: {
        ...defaultPool(join(paths.root, 'usage-pyslow'), paths.fastcgiSocket), runtime: 'python',
        pm: { max_children: 1 }, request_slowlog_timeout: '300ms', slowlog: join(paths.dir, 'logs', 'slow.log'),
      },
      jsslow: {
        ...defaultPool(join(paths.root, 'usage-jsslow'), paths.fastcgiSocket), runtime: 'node',
        pm: { max_children: 1 }, request_slowlog_timeout: '300ms', slowlog: join(paths.dir, 'logs', 'slow.log'),
        // No sampler thread: the entry says what the event loop answers, nothing more
        // (14-slowlog-js-stack has the JavaScript stack of the default).
        slowlog_stack: false,
      },
      py: {
        ...defaultPool(join(paths.root, 'usage-py'), paths.fastcgiSocket), runtime: 'python',
        pm: { max_children: 1, status_path: '/py-status' }, access,
      },
      sh: {
        ...defaultPool(join(paths.root, 'usage-sh'), paths.fastcgiSocket),
        pm: { max_children: 1, status_path: '/sh-status' }, access,
      },
    };
  },
});

interface FpmProcess {
  readonly pid: number;
  readonly 'request uri': string;
  readonly 'last request cpu': number;
  readonly 'last request memory': number;
}

async function processes(statusPath: string): Promise<readonly FpmProcess[]> {
  const res = await stack().request(`${statusPath}?json&full`);
  expect(res.status).toBe(200);
  return (JSON.parse(res.text) as { processes: FpmProcess[] }).processes;
}

/** Waits for the access line of `requestLine` (`GET /x?y`): `[cpu, bytes, kilobytes]`. */
async function usageLine(requestLine: string): Promise<[number, number, number]> {
  const file = join(stack().dir, 'logs', 'usage.log');
  const line = await waitUntil(`access line "${requestLine}"`, async () =>
    (await readFile(file, 'utf8').catch(() => '')).split('\n').find((l) => l.startsWith(`"${requestLine}" `)), EVENT_TIMEOUT_MS);
  const m = /^"[^"]*" 200 (\d+\.\d\d) (\d+) (\d+)$/.exec(line);
  if (m === null) throw new Error(`not a usage line: ${line}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

describe.each([
  ['python', '/usage-py/burn.py', '/py-status'],
  ['exec', '/usage-sh/burn.sh', '/sh-status'],
])('last request cpu and memory of a %s pool', (_runtime, script, statusPath) => {
  it('shows the CPU % and memory of a CPU-burning script in ?full and in %C/%M', async () => {
    const res = await stack().request(`${script}?burn`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('burnt');
    const worker = (await processes(statusPath)).find((p) => p['request uri'] === `${script}?burn`);
    expect(worker).toBeDefined();
    expect(worker?.['last request cpu']).toBeGreaterThan(0);
    expect(worker?.['last request memory']).toBeGreaterThan(1024 * 1024);
    const [cpu, bytes, kilo] = await usageLine(`GET ${script}?burn`);
    expect(cpu).toBe(worker?.['last request cpu']);
    expect(bytes).toBe(worker?.['last request memory']);
    expect(kilo).toBe(Math.floor(bytes / 1024));
  });
});

async function slowEntry(requestLine: string): Promise<string> {
  const file = join(stack().dir, 'logs', 'slow.log');
  return waitUntil(`slow log entry of ${requestLine}`, async () => {
    const text = await readFile(file, 'utf8').catch(() => '');
    return text.split('\n\n').find((e) => e.includes(`request = ${requestLine}\n`));
  }, EVENT_TIMEOUT_MS);
}

describe('the slow log of a node pool with slowlog_stack = false', () => {
  it('names what a waiting script waits on (no JS stack), and says when the event loop is busy', async () => {
    expect((await stack().request('/usage-jsslow/wait.js?slow')).text).toContain('waited');
    expect(await slowEntry('GET /usage-jsslow/wait.js?slow')).toMatch(/^\(runtime node: no JS stack; the event loop is free, the script waits on: .*Timeout.*\)$/m);
    expect((await stack().request('/usage-jsslow/busy.js?slow')).text).toContain('busy');
    expect(await slowEntry('GET /usage-jsslow/busy.js?slow')).toMatch(/^\(no stack: runtime node: no JS stack; the worker's event loop did not answer within 500 ms/m);
  });
});

describe('the slow log of a python pool', () => {
  it("has the running frame: the script's function and line", async () => {
    const res = await stack().request('/usage-pyslow/stuck.py?slow');
    expect(res.status).toBe(200);
    const entry = await slowEntry('GET /usage-pyslow/stuck.py?slow');
    const script = join(stack().root, 'usage-pyslow', 'stuck.py');
    expect(entry).toContain(`script_filename = ${script}`);
    expect(entry).toMatch(new RegExp(`^stuck_in_loop\\(\\) ${script.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:[56]\n<module>\\(\\) .*stuck\\.py:7$`, 'm'));
    expect(entry).not.toContain('no stack');
  });
});
