// This file implements the measurement of what the node runtime's reset costs per request, from
// the perspective of an engineer deciding whether a check belongs on every request: the runtime
// runs a hello-world CGI script in this process, in a loop, under each state policy, and the
// reset alone (nothing changed) is timed on its own. Diagnostics, not a test: run it after
// `npm run build` with `node dist/worker/runtimes/node/reset-cost-probe.js [requests]`; numbers on
// a shared machine are indicative (docs/ISOLATION-node.md).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { PoolConfig, StatePolicy } from '../../../config/schema.ts';
import type { Logger } from '../../../log/logger.ts';
import { CgiOutput } from '../../cgi-output.ts';
import { createNodeRuntime } from './node.ts';
import { StateReset } from './state-reset.ts';

const HELLO = String.raw`process.stdout.write('Content-Type: text/plain\r\n\r\nHello, world!');`;
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** CPU microseconds per call of `fn`, over `count` calls after as many warm-up calls. */
async function cpuMicros(count: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < count; i++) await fn();
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}

/** Per-request CPU of the hello script through the runtime under `policy`. */
async function requestCost(policy: StatePolicy, script: string, count: number): Promise<number> {
  const pool = { name: 'probe', runtime: 'node', state: { modules: policy, globals: policy } } as unknown as PoolConfig;
  const host = await createNodeRuntime(pool, { log: quiet as unknown as Logger });
  const one = async (): Promise<void> => {
    const sink = new Writable({ write: (_chunk, _encoding, callback) => { callback(); } });
    const output = new CgiOutput(sink, { scriptFilename: script });
    await host.run({
      scriptFilename: script, cwd: tmpdir(), env: { QUERY_STRING: '' }, stdin: Readable.from([]), stdout: output,
      onStderrLine: () => undefined, signal: new AbortController().signal,
    });
    await output.finish();
  };
  const micros = await cpuMicros(count, one);
  await host.close();
  return micros;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 5000);
  const policy = (process.argv[3] ?? 'reset') as StatePolicy;
  const dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-reset-cost-'));
  const script = join(dir, 'hello.js');
  await writeFile(script, HELLO);
  try {
    const perRequest = await requestCost(policy, script, count);
    const line: Record<string, unknown> = { policy, requests: count, cpuMicrosPerRequest: Number(perRequest.toFixed(1)) };
    if (policy === 'reset') {
      // The reset alone, nothing changed: what every request pays for the checks.
      const started = process.hrtime.bigint();
      const reset = new StateReset(true, { process: new Set(), global: new Set(['console']) });
      line.captureMillis = Number((Number(process.hrtime.bigint() - started) / 1e6).toFixed(1));
      line.watchedObjects = reset.watchedObjects;
      line.resetMicrosPerRequest = Number((await cpuMicros(count, () => [...reset.afterRun(), ...reset.scan()])).toFixed(2));
      line.beforeEndMicrosPerRequest = Number((await cpuMicros(count, () => reset.afterRun())).toFixed(2));
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
