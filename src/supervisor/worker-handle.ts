// This file implements the supervisor's handle on one worker process, from the perspective of
// the relay: it forks the worker with a FastCGI channel on fd 3 and an IPC control channel,
// hands it one request at a time under a fresh channel request id, and relays the worker's
// reply records back to the web server under the web server's own request id.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import type { PoolConfig } from '../config/schema.ts';
import { FCGI_KEEP_CONN, RecordType, Role } from '../fastcgi/constants.ts';
import { encodeNameValuePairs } from '../fastcgi/name-value.ts';
import { RecordParser } from '../fastcgi/parser.ts';
import { encodeBeginRequestBody, encodeRecord, type FcgiRecord } from '../fastcgi/record.ts';
import type { Logger } from '../log/logger.ts';
import { CHANNEL_FD, hasType, type SupervisorMessage } from '../worker/ipc.ts';
import type { RelayRequest } from './relay-request.ts';

/** Worker life: forked but not yet ready, ready for a request, running one, on its way out. */
export type WorkerState = 'spawning' | 'idle' | 'busy' | 'exiting';

/** `child_process.spawn`'s shape, injected so tests and the CLI choose. */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** Why the supervisor killed a worker, if it did. */
export type KillReason = 'timeout' | 'abort' | 'stop';

/** What a worker handle reports to its pool. */
export interface WorkerEvents {
  ready(worker: WorkerHandle): void;
  idle(worker: WorkerHandle): void;
  exited(worker: WorkerHandle, info: WorkerExit): void;
}

/** How a worker ended, and the request it held then. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly request: RelayRequest | undefined;
  readonly killReason: KillReason | undefined;
  readonly startFailure: string | undefined;
}

/** Everything needed to fork one worker of a pool. */
export interface WorkerOptions {
  readonly pool: PoolConfig;
  readonly spawn: SpawnFn;
  /** Absolute path of the built worker entry (`dist/worker/main.js`). */
  readonly workerMain: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logLevel: string;
  readonly pretty: boolean;
  readonly log: Logger;
  readonly events: WorkerEvents;
  /** Time a worker gets to end an aborted request before SIGKILL. @defaultValue 5000 */
  readonly abortGraceMs?: number;
}

const ABORT_GRACE_MS = 5000;
/** Margin over `request_terminate_timeout` before the supervisor kills a worker itself. */
const TERMINATE_MARGIN_MS = 5000;

/** One worker process and its FastCGI channel. */
export class WorkerHandle {
  state: WorkerState = 'spawning';
  readonly child: ChildProcess;
  readonly pid: number;
  /** Requests this worker has finished. */
  served = 0;
  private readonly channel: Socket;
  private readonly options: WorkerOptions;
  private request: RelayRequest | undefined;
  private channelId = 0;
  private timer: NodeJS.Timeout | undefined;
  private killReason: KillReason | undefined;
  private startFailure: string | undefined;
  /** Process group of the CGI child the current request started, if any. */
  private cgiGroup = 0;

  constructor(options: WorkerOptions) {
    this.options = options;
    this.child = options.spawn(process.execPath, [options.workerMain], {
      stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'ipc'],
      env: options.env,
    });
    this.pid = this.child.pid ?? 0;
    this.channel = this.child.stdio[CHANNEL_FD] as Socket;
    const parser = new RecordParser((record) => { this.onRecord(record); });
    this.channel.on('data', (chunk: Buffer) => { this.onChannelData(parser, chunk); });
    this.channel.on('error', (err) => { options.log.debug({ err, pid: this.pid }, 'worker channel error'); });
    this.child.on('message', (message) => { this.onMessage(message); });
    this.child.on('error', (err) => { options.log.error({ err, pid: this.pid }, 'worker spawn failed'); });
    this.child.once('exit', (code, signal) => { this.onExit(code, signal); });
    this.send({ type: 'pool', pool: options.pool, logLevel: options.logLevel, pretty: options.pretty });
  }

  /** The request this worker runs, if busy. */
  get current(): RelayRequest | undefined {
    return this.request;
  }

  /** Sends the whole request so far (BEGIN, PARAMS, held STDIN) under a fresh channel id. */
  assign(request: RelayRequest): void {
    if (this.state !== 'idle' || request.route === undefined) throw new TypeError('worker: assign: worker not idle');
    this.channelId = this.channelId >= 0xffff ? 1 : this.channelId + 1;
    const id = this.channelId;
    this.request = request;
    this.state = 'busy';
    request.state = 'active';
    const route = request.route;
    const overrides: [string, string][] = [['SCRIPT_FILENAME', route.scriptFilename]];
    if (route.pathInfo !== '') overrides.push(['PATH_INFO', route.pathInfo]);
    const out: Buffer[] = encodeRecord(RecordType.FCGI_BEGIN_REQUEST, id,
      encodeBeginRequestBody(Role.FCGI_RESPONDER, FCGI_KEEP_CONN));
    for (const content of request.paramsContents) out.push(...encodeRecord(RecordType.FCGI_PARAMS, id, content));
    out.push(...encodeRecord(RecordType.FCGI_PARAMS, id, encodeNameValuePairs(overrides)));
    out.push(...encodeRecord(RecordType.FCGI_PARAMS, id));
    for (const content of request.takePending()) out.push(...encodeRecord(RecordType.FCGI_STDIN, id, content));
    this.writeChannel(out, request);
    this.armTerminateTimer();
  }

  /** Forwards one STDIN content of the current request (empty = end of body). */
  forwardStdin(request: RelayRequest, content: Buffer): void {
    if (request !== this.request) return;
    this.writeChannel(encodeRecord(RecordType.FCGI_STDIN, this.channelId, content), request);
  }

  /** The web server went away: FCGI_ABORT_REQUEST to the worker, SIGKILL if it does not end. */
  abort(request: RelayRequest): void {
    if (request !== this.request) return;
    this.writeChannel(encodeRecord(RecordType.FCGI_ABORT_REQUEST, this.channelId), undefined);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.kill('abort'); }, this.options.abortGraceMs ?? ABORT_GRACE_MS);
  }

  /** Asks the worker to finish its request and exit (graceful), via IPC. */
  stop(): void {
    if (this.state === 'exiting') return;
    this.state = 'exiting';
    this.send({ type: 'stop' });
  }

  /** Kills the worker (SIGKILL); its request, if any, is answered by the pool. */
  kill(reason: KillReason): void {
    this.killReason ??= reason;
    this.state = 'exiting';
    this.child.kill('SIGKILL');
  }

  private writeChannel(buffers: readonly Buffer[], request: RelayRequest | undefined): void {
    if (this.channel.destroyed) return;
    this.channel.cork();
    let ok = true;
    for (const b of buffers) ok = this.channel.write(b);
    this.channel.uncork();
    if (!ok && request !== undefined) {
      request.sink.pauseInput();
      this.channel.once('drain', () => { request.sink.resumeInput(); });
    }
  }

  private onChannelData(parser: RecordParser, chunk: Buffer): void {
    try {
      parser.push(chunk);
    } catch (err) {
      this.options.log.error({ err, pid: this.pid }, 'protocol error');
      this.kill('abort');
    }
  }

  private onRecord(record: FcgiRecord): void {
    const request = this.request;
    if (request === undefined || record.requestId !== this.channelId) return;
    switch (record.type) {
      case RecordType.FCGI_STDOUT:
      case RecordType.FCGI_STDERR:
        if (record.type === RecordType.FCGI_STDOUT) request.stdoutBytes += record.content.length;
        this.relay(request, encodeRecord(record.type, request.requestId, record.content));
        return;
      case RecordType.FCGI_END_REQUEST:
        this.relay(request, encodeRecord(record.type, request.requestId, record.content));
        this.finish(request);
        return;
      default:
        return;
    }
  }

  private relay(request: RelayRequest, buffers: readonly Buffer[]): void {
    if (request.sink.write(buffers)) return;
    this.channel.pause();
    request.sink.onDrain(() => { this.channel.resume(); });
  }

  private finish(request: RelayRequest): void {
    clearTimeout(this.timer);
    this.request = undefined;
    this.cgiGroup = 0;
    this.served += 1;
    request.state = 'finished';
    request.sink.finished(request);
    this.channel.resume();
    if (this.state === 'exiting') return;
    this.state = 'idle';
    this.options.events.idle(this);
  }

  private armTerminateTimer(): void {
    clearTimeout(this.timer);
    const limitMs = this.options.pool.requestTerminateTimeoutMs;
    if (limitMs <= 0) return;
    this.timer = setTimeout(() => { this.kill('timeout'); }, limitMs + TERMINATE_MARGIN_MS);
  }

  private onMessage(message: unknown): void {
    if (!hasType(message)) return;
    if (message.type === 'ready' && this.state === 'spawning') {
      this.state = 'idle';
      this.options.events.ready(this);
    } else if (message.type === 'cgi-group') {
      const { requestId, pgid } = message as { requestId?: unknown; pgid?: unknown };
      if (requestId === this.channelId && this.request !== undefined && typeof pgid === 'number') this.cgiGroup = pgid;
    } else if (message.type === 'start-failed') {
      this.startFailure = String((message as { message?: unknown }).message);
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    clearTimeout(this.timer);
    this.state = 'exiting';
    const request = this.request;
    this.request = undefined;
    this.channel.destroy();
    this.killCgiGroup();
    this.options.events.exited(this, {
      code, signal, request, killReason: this.killReason, startFailure: this.startFailure,
    });
  }

  /** The worker is gone: its request's CGI process group must not outlive it. */
  private killCgiGroup(): void {
    if (this.cgiGroup <= 1) return;
    try {
      process.kill(-this.cgiGroup, 'SIGKILL');
    } catch {
      // ESRCH: the group already ended with its worker.
    }
    this.cgiGroup = 0;
  }

  private send(message: SupervisorMessage): void {
    if (!this.child.connected) return;
    this.child.send(message, (err) => {
      if (err !== null) this.options.log.warn({ err, pid: this.pid }, 'worker ipc send failed');
    });
  }
}
