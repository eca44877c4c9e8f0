// This file implements the node runtime's test harness from the perspective of a vitest file:
// the runtime swaps process-wide state and catches uncaught exceptions, which must not happen
// inside the test runner, so the runtime runs in a child process of its own (a stand-in worker,
// node-child-test-peer.ts) built from the sources with TypeScript's transpiler and driven over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, expect } from 'vitest';
import type { StatePolicy } from '../../../config/schema.ts';
import type { PeerCommand, PeerReply, RunReport, RunSpec } from './node-child-test-peer.ts';

export type { RunReport, RunSpec } from './node-child-test-peer.ts';

/** A script's CGI head, the way many scripts write it. */
export const HEAD = String.raw`process.stdout.write('Content-Type: text/plain\r\n\r\n');`;

/** Writes `scripts` (name → source; names may have one directory) into a new temp dir (real path). */
export async function writeScripts(scripts: Readonly<Record<string, string>>): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-node-')));
  for (const [name, text] of Object.entries(scripts)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

/** Checks that the worker's process is its own again after a run. */
export function expectRestored(report: RunReport): void {
  expect(report.after.restored).toEqual({
    env: true,
    argv: true,
    exit: true,
    console: true,
    stdin: true,
    stdout: true,
    stderr: true,
    mainModule: true,
  });
  expect(report.after.exitCode).toBeUndefined();
  // The runtime's own dispatcher stays for its whole life; whatever the script added is gone.
  expect(report.after.listeners).toEqual({
    exit: 0,
    uncaughtException: 1,
    unhandledRejection: 1,
    SIGUSR2: 0,
  });
}

const SRC_DIR = fileURLToPath(new URL('../../../', import.meta.url));
const CHILD_ENTRY = fileURLToPath(new URL('./node-child-test-peer.ts', import.meta.url));

let built: Promise<{ dir: string; entry: string }> | undefined;

/** Output path of a source file inside `outDir`, `.ts` → `.js`. */
function outputOf(outDir: string, file: string): string {
  return join(outDir, relative(SRC_DIR, file)).replace(/\.ts$/, '.js');
}

/**
 * Transpiles `entry` and every module it imports (relative imports only; `node:` builtins are
 * left to Node) into `outDir`, as ES modules.
 * @throws Error on a bare package import: the stand-in worker must not depend on node_modules.
 */
export async function transpileClosure(entry: string, outDir: string): Promise<string> {
  const pending = [entry];
  const seen = new Set<string>();
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2023,
        verbatimModuleSyntax: true,
        rewriteRelativeImportExtensions: true,
      },
    });
    await mkdir(dirname(outputOf(outDir, file)), { recursive: true });
    await writeFile(outputOf(outDir, file), outputText);
    for (const { fileName } of ts.preProcessFile(outputText, true, true).importedFiles) {
      if (fileName.startsWith('node:')) continue;
      if (!fileName.startsWith('.')) throw new Error(`node test peer: bare import "${fileName}" in ${file}`);
      pending.push(resolve(dirname(file), fileName.replace(/\.js$/, '.ts')));
    }
  }
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n');
  return outputOf(outDir, entry);
}

function build(): Promise<{ dir: string; entry: string }> {
  built ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-node-peer-'));
    return { dir, entry: await transpileClosure(CHILD_ENTRY, dir) };
  })();
  return built;
}

/** Removes the transpiled stand-in worker (call once, after every peer stopped). */
export async function removePeerBuild(): Promise<void> {
  if (built === undefined) return;
  const { dir } = await built;
  built = undefined;
  await rm(dir, { recursive: true, force: true });
}

/** A stand-in worker running the node runtime with one state policy. */
export class RuntimePeer {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (report: RunReport) => void>();
  #nextId = 1;
  #output = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (this.#output += text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (this.#output += text));
    child.on('message', (message: PeerReply) => {
      if (message.type !== 'result') return;
      this.#waiting.get(message.id)?.(message.report);
      this.#waiting.delete(message.id);
    });
  }

  /** Starts a stand-in worker whose runtime has the given `state.*` policies. */
  static async start(modules: StatePolicy, globals: StatePolicy): Promise<RuntimePeer> {
    const { entry } = await build();
    // Structured clone, not JSON, over IPC: a script may have broken JSON for the whole worker.
    const child = fork(entry, [], {
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      cwd: tmpdir(),
      serialization: 'advanced',
    });
    const peer = new RuntimePeer(child);
    await new Promise<void>((resolveStarted, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => {
        reject(new Error(`node test peer exited with ${code}: ${peer.#output}`));
      });
      child.on('message', (message: PeerReply) => {
        if (message.type === 'started') resolveStarted();
      });
      peer.#send({ type: 'start', modules, globals });
    });
    return peer;
  }

  /** Everything the stand-in worker itself wrote to its stdout and stderr (should stay empty). */
  get output(): string {
    return this.#output;
  }

  /** Runs one request and reports its outcome. */
  run(spec: RunSpec): Promise<RunReport> {
    const id = this.#nextId++;
    return new Promise((resolveReport, reject) => {
      const onExit = (code: number | null): void => {
        reject(new Error(`node test peer exited with ${code} during ${spec.script}: ${this.#output}`));
      };
      this.#child.once('exit', onExit);
      this.#waiting.set(id, (report) => {
        this.#child.off('exit', onExit);
        resolveReport(report);
      });
      this.#send({ type: 'run', id, spec });
    });
  }

  /** Kills the stand-in worker. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolveExit) => this.#child.once('exit', resolveExit));
    this.#child.kill('SIGKILL');
    await exited;
  }

  #send(command: PeerCommand): void {
    this.#child.send(command);
  }
}

/** A suite's scripts and stand-in workers (see {@link usePeerSuite}). */
export interface PeerSuite {
  /** The scripts' directory (set once the suite's `beforeAll` ran). */
  readonly dir: string;
  /** Starts a stand-in worker with the given `state.*` policies; it is stopped after the suite. */
  readonly start: (modules: StatePolicy, globals: StatePolicy) => Promise<RuntimePeer>;
  /** Runs the script `name` of the suite's directory on `peer`. */
  readonly request: (peer: RuntimePeer, name: string, spec?: Omit<RunSpec, 'script'>) => Promise<RunReport>;
}

/**
 * Registers the suite's `beforeAll` (the scripts written into a temp dir) and `afterAll` (every
 * stand-in worker stopped, the transpiled build and the scripts removed).
 */
export function usePeerSuite(scripts: Readonly<Record<string, string>>): PeerSuite {
  let dir = '';
  const peers: RuntimePeer[] = [];
  beforeAll(async () => {
    dir = await writeScripts(scripts);
  });
  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.stop()));
    await removePeerBuild();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    start: async (modules, globals) => {
      const peer = await RuntimePeer.start(modules, globals);
      peers.push(peer);
      return peer;
    },
    request: (peer, name, spec = {}) => peer.run({ ...spec, script: join(dir, name) }),
  };
}
