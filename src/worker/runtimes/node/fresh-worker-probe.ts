// This file implements the measurement behind issue 16's node answer, from the perspective of an
// engineer pricing "a fresh interpreter for every request" for node pools, where fork() of a live
// V8 is not an option: what one more node worker process costs from spawn to ready (wall time,
// CPU, RSS, PSS), against a bare `node` start (what `exec` pays per request), a worker thread
// and a `vm` context. Diagnostics, not a test: after `npm run build`, run
// `node dist/worker/runtimes/node/fresh-worker-probe.js [count]`; numbers on a shared machine are
// indicative (docs/ISOLATION-node.md).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import type { Socket } from 'node:net';
import { loadConfig } from '../../../config/load.ts';
import { ControlChannel, WORKER_LINE_MAX_BYTES } from '../../control-channel.ts';
import type { PoolConfig } from '../../../config/schema.ts';
import { workerCommand } from '../../../supervisor/pool/worker-command.ts';

const WORKER_MAIN = fileURLToPath(new URL('../../main.js', import.meta.url));
const TICKS_PER_SECOND = 100;

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly rssKb: number;
  readonly pssKb: number;
}

/** Fields of /proc/PID/stat after the command name. */
async function statFields(pid: number | 'self'): Promise<string[]> {
  return (await readFile(`/proc/${String(pid)}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
}

/** CPU (user + system) a process used so far, from /proc (clock ticks of 10 ms). */
async function cpuMsOf(pid: number): Promise<number> {
  const fields = await statFields(pid);
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** CPU of this process's reaped children so far (cutime + cstime). */
async function childrenCpuMs(): Promise<number> {
  const fields = await statFields('self');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
}

async function memoryKbOf(pid: number): Promise<{ rssKb: number; pssKb: number }> {
  const status = await readFile(`/proc/${String(pid)}/status`, 'utf8');
  const rollup = await readFile(`/proc/${String(pid)}/smaps_rollup`, 'utf8').catch(() => '');
  return {
    rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN),
    pssKb: Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? NaN),
  };
}

/** A cgi-fpm node worker forked as the supervisor forks it, until it says ready. */
async function workerToReady(pool: PoolConfig): Promise<Sample> {
  const started = process.hrtime.bigint();
  // The control channel is the fd after the FastCGI channel (fd 4), as the supervisor forks it.
  const command = workerCommand(pool, WORKER_MAIN, 4);
  const child: ChildProcess = spawn(command.file, command.args, { stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe'] });
  const message = await new Promise<{ type?: string }>((resolve) => {
    const control = new ControlChannel(child.stdio[4] as Socket, {
      message: (m) => { resolve(m as { type?: string }); },
      invalid: () => { resolve({}); },
      close: () => { resolve({}); },
    }, WORKER_LINE_MAX_BYTES);
    control.send({ type: 'pool', pool, logLevel: 'warn', pretty: false });
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (message.type !== 'ready') throw new Error(`probe: worker said ${JSON.stringify(message)}`);
  const pid = child.pid ?? 0;
  const sample = { wallMs, cpuMs: await cpuMsOf(pid), ...(await memoryKbOf(pid)) };
  child.kill('SIGKILL');
  await once(child, 'exit');
  return sample;
}

/** `node -e ''` from spawn to exit: the interpreter start every `exec` request pays. */
async function bareNode(): Promise<Sample> {
  const started = process.hrtime.bigint();
  const before = await childrenCpuMs();
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { wallMs, cpuMs: (await childrenCpuMs()) - before, rssKb: NaN, pssKb: NaN };
}

/** A worker thread from construction to its first message; RSS counted by the caller. */
async function threadToReady(): Promise<Worker> {
  const thread = new Worker("require('worker_threads').parentPort.postMessage('ready')", { eval: true });
  await once(thread, 'message');
  return thread;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? NaN;
}

function summary(samples: readonly Sample[]): Record<string, number> {
  const round = (n: number): number => Math.round(n * 10) / 10;
  return {
    wallMs: round(median(samples.map((s) => s.wallMs))),
    cpuMs: round(median(samples.map((s) => s.cpuMs))),
    rssMb: round(median(samples.map((s) => s.rssKb)) / 1024),
    pssMb: round(median(samples.map((s) => s.pssKb)) / 1024),
  };
}

async function poolOf(dir: string, globals: 'reset' | 'keep'): Promise<PoolConfig> {
  const file = join(dir, `${globals}.toml`);
  await writeFile(file, `[pools.probe]\nlisten = "${join(dir, 'probe.sock')}"\nroot = "${dir}"\nruntime = "node"\nstate.globals = "${globals}"\n`);
  const config = await loadConfig(file);
  const pool = config.pools[0];
  if (pool === undefined) throw new Error('probe: no pool');
  return pool;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10);
  const dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-fresh-'));
  try {
    const out: Record<string, unknown> = { node: process.version, count };
    for (const globals of ['reset', 'keep'] as const) {
      const pool = await poolOf(dir, globals);
      const samples: Sample[] = [];
      for (let i = 0; i < count; i++) samples.push(await workerToReady(pool));
      out[`worker process, state.globals = ${globals}`] = summary(samples);
    }
    const bare: Sample[] = [];
    for (let i = 0; i < count; i++) bare.push(await bareNode());
    out['bare node -e ""'] = summary(bare);
    const rssBefore = process.memoryUsage.rss();
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const threads: Worker[] = [];
    for (let i = 0; i < count; i++) threads.push(await threadToReady());
    const cpu = process.cpuUsage(cpuBefore);
    out['worker thread'] = {
      wallMs: Math.round(Number(process.hrtime.bigint() - started) / 1e5 / count) / 10,
      cpuMs: Math.round((cpu.user + cpu.system) / 100 / count) / 10,
      rssMbEach: Math.round((process.memoryUsage.rss() - rssBefore) / 1024 / 102.4 / count) / 10,
    };
    await Promise.all(threads.map((thread) => thread.terminate()));
    const contexts = 200;
    const vmStarted = process.hrtime.bigint();
    const heapBefore = process.memoryUsage().heapUsed;
    const kept: object[] = [];
    for (let i = 0; i < contexts; i++) kept.push(vm.createContext({}));
    out['vm context'] = {
      wallMs: Math.round(Number(process.hrtime.bigint() - vmStarted) / 1e4 / contexts) / 100,
      heapKbEach: Math.round((process.memoryUsage().heapUsed - heapBefore) / 1024 / contexts),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
