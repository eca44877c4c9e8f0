// This file implements the supervisor's side of the python worker (worker.py) from the
// perspective of its unit tests: the worker spawned as the supervisor spawns it (FastCGI on
// fd 3, Node's IPC), its pool message, its log lines, and requests sent as FastCGI records
// with what comes back gathered (STDOUT, STDERR, END_REQUEST). Tests only.
import { spawn, type ChildProcess } from 'node:child_process';
import { ControlChannel, WORKER_LINE_MAX_BYTES } from '../../control-channel.ts';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { FCGI_KEEP_CONN, RecordType, Role } from '../../../fastcgi/constants.ts';
import { encodeNameValuePairs } from '../../../fastcgi/name-value.ts';
import { RecordParser } from '../../../fastcgi/parser.ts';
import { encodeBeginRequestBody, encodeRecord } from '../../../fastcgi/record.ts';
import { encodeStream, encodeStreamEnd } from '../../../fastcgi/writer.ts';
import { PYTHON_WORKER_FLAGS } from '../../../supervisor/pool/worker-command.ts';

/** worker.py in the source tree (its modules sit beside it). */
export const WORKER_PY = fileURLToPath(new URL('./worker.py', import.meta.url));

/** What one request got back. */
export interface WorkerReply {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** FCGI_END_REQUEST's content (appStatus, protocolStatus). */
  readonly end: Buffer;
}

/** The pool keys the python worker reads (the rest of PoolConfig is not needed here). */
export type WorkerPool = Record<string, unknown>;

/** A python worker under test. */
export class PythonWorkerPeer {
  readonly child: ChildProcess;
  readonly channel: Socket;
  /** The worker's control channel (what the supervisor's WorkerHandle holds). */
  readonly control: ControlChannel;
  readonly logs: Record<string, unknown>[] = [];
  readonly messages: Record<string, unknown>[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #records: { type: number; requestId: number; content: Buffer }[] = [];
  #waiters: (() => void)[] = [];
  #nextId = 1;

  constructor(pool: WorkerPool) {
    // As the supervisor spawns it: FastCGI on fd 3, the control channel on fd 4 (first argument).
    this.child = spawn('python3', [...PYTHON_WORKER_FLAGS, WORKER_PY, '4', 'cgi-fpm/test'], {
      stdio: ['ignore', 'pipe', 'inherit', 'pipe', 'pipe'],
    });
    this.control = new ControlChannel(this.child.stdio[4] as Socket, {
      message: (message) => {
        this.messages.push(message as Record<string, unknown>);
        this.#wake();
      },
      invalid: () => undefined,
      close: () => undefined,
    }, WORKER_LINE_MAX_BYTES);
    this.channel = this.child.stdio[3] as Socket;
    const parser = new RecordParser((record) => {
      this.#records.push({ type: record.type, requestId: record.requestId, content: Buffer.from(record.content) });
      this.#wake();
    });
    this.channel.on('data', (chunk: Buffer) => { parser.push(chunk); });
    this.channel.on('error', () => undefined);
    let pending = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.logs.push(JSON.parse(line) as Record<string, unknown>);
      this.#wake();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => { resolve({ code, signal }); });
    });
    this.send({
      type: 'pool',
      pool: {
        name: 'py', python: { executable: 'python3' }, state: { modules: 'reset', globals: 'reset' },
        isolation: 'persistent', preload: [], env: {}, clearEnv: true, requestTerminateTimeoutMs: 0,
        stderr: 'log', pm: { maxMemoryBytes: 0 }, ...pool,
      },
      logLevel: 'debug',
      pretty: false,
    });
  }

  /** Sends a control message, as the supervisor does. */
  send(message: unknown): void {
    this.control.send(message, () => undefined);
  }

  /** Closes the control channel: the supervisor is gone. */
  disconnect(): void {
    this.control.close();
  }

  /** Resolves once `test()` holds (checked after each record, log line or message). */
  async until(test: () => boolean): Promise<void> {
    while (!test()) await new Promise<void>((resolve) => { this.#waiters.push(resolve); });
  }

  /** The first control message of `type`, waiting for it. */
  async message(type: string): Promise<Record<string, unknown>> {
    await this.until(() => this.messages.some((m) => m.type === type));
    return this.messages.find((m) => m.type === type) ?? {};
  }

  /** Log entries whose `msg` is `msg`. */
  logged(msg: string): Record<string, unknown>[] {
    return this.logs.filter((entry) => entry.msg === msg);
  }

  /** Sends a request's BEGIN_REQUEST and PARAMS (and its body, ended, unless `body` is null). */
  begin(params: Record<string, string>, body: Buffer | null = Buffer.alloc(0)): number {
    const id = this.#nextId++;
    const records = [
      ...encodeRecord(RecordType.FCGI_BEGIN_REQUEST, id, encodeBeginRequestBody(Role.FCGI_RESPONDER, FCGI_KEEP_CONN)),
      ...encodeStream(RecordType.FCGI_PARAMS, id, encodeNameValuePairs(Object.entries(params))),
      encodeStreamEnd(RecordType.FCGI_PARAMS, id),
    ];
    if (body !== null) records.push(...encodeStream(RecordType.FCGI_STDIN, id, body), encodeStreamEnd(RecordType.FCGI_STDIN, id));
    this.channel.write(Buffer.concat(records));
    return id;
  }

  /** Sends raw records. */
  write(records: Buffer[]): void {
    this.channel.write(Buffer.concat(records));
  }

  /** What request `id` got, once its END_REQUEST came. */
  async reply(id: number): Promise<WorkerReply> {
    const ended = (): boolean => this.#records.some((r) => r.requestId === id && r.type === RecordType.FCGI_END_REQUEST);
    await this.until(ended);
    const of = (type: number): Buffer => Buffer.concat(
      this.#records.filter((r) => r.requestId === id && r.type === type).map((r) => r.content));
    return {
      stdout: of(RecordType.FCGI_STDOUT),
      stderr: of(RecordType.FCGI_STDERR),
      end: of(RecordType.FCGI_END_REQUEST),
    };
  }

  /** Records of request id 0 (management replies). */
  async management(): Promise<{ type: number; content: Buffer }> {
    await this.until(() => this.#records.some((r) => r.requestId === 0));
    const found = this.#records.find((r) => r.requestId === 0);
    return { type: found?.type ?? 0, content: found?.content ?? Buffer.alloc(0) };
  }

  /** Runs `params` to its end: the response's text. */
  async get(params: Record<string, string>, body?: Buffer): Promise<string> {
    return (await this.reply(this.begin(params, body))).stdout.toString('latin1');
  }

  /** The worker's pid and its children's (the runners), each with its resident memory in bytes. */
  memory(): { pid: number; rssBytes: number }[] {
    const pids = [this.child.pid ?? 0];
    // The array grows while it is walked: each runner's children are visited too.
    for (const pid of pids) {
      try {
        pids.push(...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/u).filter(Boolean).map(Number));
      } catch {
        // gone
      }
    }
    return pids.map((pid) => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return { pid, rssBytes: Number(/^VmRSS:\s+(\d+)/mu.exec(status)?.[1] ?? 0) * 1024 };
    });
  }

  /** Kills the worker and its runners' groups (end of a test). */
  kill(): void {
    for (const message of this.messages) {
      if (message.type === 'cgi-group' && typeof message.pgid === 'number') {
        try { process.kill(-message.pgid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    this.child.kill('SIGKILL');
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
