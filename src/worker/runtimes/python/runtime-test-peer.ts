// This file implements the test side of the python runtime from the perspective of its unit
// tests: scripts written to a temporary directory, a runtime started on the real python3, and
// one call that runs a request and collects its output, log lines and result. Tests only.
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import type { Isolation, StatePolicy } from '../../../config/schema.ts';
import type { RuntimeHost, RuntimeResult } from '../types.ts';
import { createPythonRuntime } from './python.ts';

/** A quiet logger for runtimes under test. */
export const silentLog = pino({ level: 'silent' });

/** A temporary script directory. */
export interface ScriptDir {
  readonly dir: string;
  /** Absolute path of `name` in the directory. */
  path(name: string): string;
  /** Writes (or rewrites) `name` with `text`. */
  write(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}

/** Creates a script directory holding `scripts` (name → source). */
export async function scriptDir(scripts: Record<string, string>): Promise<ScriptDir> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-python-')));
  const path = (name: string): string => join(dir, name);
  const write = async (name: string, text: string): Promise<string> => {
    await writeFile(path(name), text);
    return path(name);
  };
  for (const [name, text] of Object.entries(scripts)) await write(name, text);
  return { dir, path, write, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A logger whose entries the test can read. */
export function capturingLog(): { log: Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      entries.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  });
  return { log: pino({ level: 'debug' }, destination), entries };
}

/**
 * Starts a python runtime on `python3` (found in this process's PATH) with the given state
 * policies and isolation, its runner's environment that of a pool with no `env` (as a CGI
 * script's interpreter would have it: no PYTHONUNBUFFERED from the test's shell).
 */
export function startRuntime(
  modules: StatePolicy = 'reset',
  globals: StatePolicy = 'reset',
  log: Logger = silentLog,
  isolation: Isolation = 'persistent',
): Promise<RuntimeHost> {
  return createPythonRuntime(
    { python: { executable: 'python3' }, state: { modules, globals }, env: {}, clearEnv: true, isolation },
    { log, inherited: process.env },
  );
}

/** A response destination with a small buffer that takes each write after `delayMs`. */
export class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  readonly #delayMs: number;

  constructor(highWaterMark = 16 * 1024, delayMs = 0) {
    super({ highWaterMark });
    this.#delayMs = delayMs;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    if (this.#delayMs > 0) setTimeout(callback, this.#delayMs);
    else setImmediate(callback);
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get text(): string {
    return this.bytes.toString('utf8');
  }
}

/** Options of one test request. */
export interface RunOptions {
  /** The CGI environment; `SCRIPT_FILENAME` is added. */
  readonly env?: Record<string, string>;
  /** The body: bytes, or a stream the test feeds. @defaultValue empty */
  readonly body?: Buffer | Readable;
  readonly sink?: Sink;
  readonly signal?: AbortSignal;
  /** Told the runner's pid (its process group) as the worker tells the supervisor. */
  readonly onSpawn?: (pid: number) => void;
}

/** What one test request gave. */
export interface RunOutcome {
  readonly result: RuntimeResult;
  readonly sink: Sink;
  /** The response as UTF-8. */
  readonly text: string;
  /** The stderr lines. */
  readonly lines: string[];
}

/** Runs `script` on `host` and collects everything. */
export async function runScript(
  host: RuntimeHost,
  script: string,
  options: RunOptions = {},
): Promise<RunOutcome> {
  const sink = options.sink ?? new Sink();
  const lines: string[] = [];
  const body = options.body ?? Buffer.alloc(0);
  const result = await host.run({
    scriptFilename: script,
    cwd: dirname(script),
    env: { SCRIPT_FILENAME: script, REQUEST_METHOD: 'GET', ...options.env },
    stdin: body instanceof Readable ? body : Readable.from([body]),
    stdout: sink,
    onStderrLine: (line) => lines.push(line),
    signal: options.signal ?? new AbortController().signal,
    ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
  });
  // The run hands every byte to the sink; wait until the sink has taken them all (a runner
  // under `python -u` or PYTHONUNBUFFERED sends one frame per write).
  await new Promise<void>((resolve) =>
    sink.write(Buffer.alloc(0), () => {
      resolve();
    }),
  );
  return { result, sink, text: sink.text, lines };
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Registers a suite's `beforeAll`/`afterAll`: a script directory holding `scripts` and the
 * runtime `start` gives; returns getters for both (valid inside the suite's tests).
 */
export function useRuntime(
  scripts: Record<string, string>,
  start: () => Promise<RuntimeHost>,
): { dir: () => ScriptDir; host: () => RuntimeHost } {
  let dir: ScriptDir | undefined;
  let host: RuntimeHost | undefined;
  beforeAll(async () => {
    dir = await scriptDir(scripts);
    host = await start();
  });
  afterAll(async () => {
    await host?.close();
    await dir?.remove();
  });
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('runtime: not started (see the beforeAll error)');
    return value;
  };
  return { dir: () => need(dir), host: () => need(host) };
}
