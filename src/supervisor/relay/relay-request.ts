// This file implements one FastCGI request as the supervisor relays it, from the perspective
// of the relay: what arrived from the web server before a worker was free (PARAMS and STDIN
// contents, held as slices), where the request is in its life, and what went back.
import type { PoolConfig } from '../../config/schema.ts';
import type { NameValueDecoder } from '../../fastcgi/name-value.ts';
import type { WorkerChannel } from './worker-channel.ts';
import type { WorkerHandle } from '../pool/worker-handle.ts';

/**
 * Where a relayed request is: reading its PARAMS, being routed (script resolution), waiting in
 * its pool's queue, running on a worker, or finished (END_REQUEST sent to the web server).
 */
export type RequestState = 'params' | 'routing' | 'queued' | 'active' | 'finished';

/** What a request needs from the connection it came on (implemented by `WebConnection`). */
export interface RequestSink {
  /** Writes encoded records to the web server; false when its buffer is full. */
  write(buffers: readonly Buffer[]): boolean;
  /**
   * Holds writes until the matching {@link RequestSink.uncork}, so the records relayed from one
   * read of the worker's channel leave in one `writev` (calls nest).
   */
  cork(): void;
  /** Releases one {@link RequestSink.cork}; the last one sends what was held. */
  uncork(): void;
  /** Calls `resume` once the web server's socket has drained. */
  onDrain(resume: () => void): void;
  /** The request sent its END_REQUEST (or was answered by the supervisor). */
  finished(request: RelayRequest): void;
  /** Answers the request without (or instead of) its worker: a page, or a close after headers. */
  answer(request: RelayRequest, status: number, page: Buffer): void;
  /** Stops / restarts reading the web server's socket (STDIN backpressure). */
  pauseInput(): void;
  resumeInput(): void;
}

/** The resolved script a request runs (RFC 3875 §3.3, script-path and PATH_INFO). */
export interface RoutedScript {
  readonly pool: PoolConfig;
  readonly scriptFilename: string;
  readonly pathInfo: string;
  /** `SCRIPT_NAME` without the path-info the router split off `SCRIPT_FILENAME`, when it did. */
  readonly scriptName?: string;
}

/** One FastCGI request relayed from a web-server connection to a worker. */
export class RelayRequest {
  state: RequestState = 'params';
  /** FastCGI contents of the web server's PARAMS records, forwarded unchanged. */
  readonly paramsContents: Buffer[] = [];
  /** STDIN contents received before a worker took the request; `[]` once forwarded. */
  pending: Buffer[] = [];
  pendingBytes = 0;
  /** The empty FCGI_STDIN record has arrived. */
  stdinEnded = false;
  /** Bytes of FCGI_STDOUT content sent to the web server (0 = no header went out). */
  stdoutBytes = 0;
  route: RoutedScript | undefined;
  /** The worker and channel running the request, once assigned. */
  worker: WorkerHandle | undefined;
  channel: WorkerChannel | undefined;
  /** Pending queue timer while `state === 'queued'`. */
  queueTimer: NodeJS.Timeout | undefined;
  readonly startedAtMs: number;
  readonly requestId: number;
  readonly keepConn: boolean;
  readonly sink: RequestSink;
  readonly decoder: NameValueDecoder;

  constructor(init: { requestId: number; keepConn: boolean; sink: RequestSink; decoder: NameValueDecoder; nowMs: number }) {
    this.requestId = init.requestId;
    this.keepConn = init.keepConn;
    this.sink = init.sink;
    this.decoder = init.decoder;
    this.startedAtMs = init.nowMs;
  }

  /** Holds one STDIN content until a worker takes the request. */
  hold(content: Buffer): void {
    this.pending.push(content);
    this.pendingBytes += content.length;
    if (content.length === 0) this.stdinEnded = true;
  }

  /** Hands over what was held (called once, on assignment). */
  takePending(): Buffer[] {
    const held = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return held;
  }
}
