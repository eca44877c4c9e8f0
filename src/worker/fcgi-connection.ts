// This file implements a FastCGI responder connection from the perspective of the worker (or a
// standalone mod_fcgid child) reading one connection: one request at a time, records dispatched
// the way the spec asks, backpressure both ways, and a lingering close so a web server still
// sending a body it no longer needs gets a FIN and its response, never a reset (audit A-4).

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ProtocolError } from '../errors.ts';
import { Responder } from '../fastcgi/responder.ts';
import { ResponderRequest, type RequestChannel } from './fcgi-connection-request.ts';
import { ConnectionSocket } from './fcgi-connection-socket.ts';
import { HeldChannel } from './fcgi-held-channel.ts';
import {
  resolveConnectionOptions,
  type FcgiConnectionOptions,
  type ResolvedConnectionOptions,
} from './fcgi-connection-options.ts';

export type { FcgiRequest } from './fcgi-connection-request.ts';
export type { FcgiConnectionOptions } from './fcgi-connection-options.ts';

/**
 * A FastCGI responder on one connection (any `Duplex`: a unix socket, a socketpair, fd 0), one
 * request at a time: the socket side of the role whose records {@link Responder} handles.
 * Events: `'request'` (req: {@link FcgiRequest}) after a request's empty PARAMS
 * record; `'protocol-error'` (err: {@link ProtocolError}, `ERR_FCGI_PROTOCOL` or
 * `ERR_FCGI_PARAMS_TOO_LARGE`), after which the socket is destroyed; `'hold-failed'` (err: Error)
 * when a held response's spill file failed (`holdOutputTempPath`), after which the socket is
 * destroyed; `'idle'` () once a request's
 * END_REQUEST was written (with `FCGI_KEEP_CONN` the connection then waits for the next one);
 * `'close'` () once the socket closed (socket errors end here too). A request in flight when the
 * connection closes is aborted.
 * @throws TypeError (constructor) when an option is not a positive integer
 * @throws RangeError (constructor) when `values` do not fit one GET_VALUES_RESULT record
 * @see FastCGI spec §3 (connections), §5 (application records), §6.2 (responder)
 */
export class FcgiResponderConnection extends EventEmitter {
  readonly #io: ConnectionSocket;
  readonly #responder: Responder<ResponderRequest>;
  readonly #options: ResolvedConnectionOptions;
  /** The request's held output (`holdOutputTempPath`): one request at a time. */
  #held: HeldChannel | undefined;
  #failed = false;

  /**
   * Start reading `socket` (flowing mode) and serving requests from it.
   * @param socket - the connection; owned from now on (paused, resumed, ended and destroyed here)
   * @param options - see {@link FcgiConnectionOptions}
   * @defaultValue options: `{}` (1 MiB params, 64 KiB stdin buffer, one connection, no multiplexing)
   * @throws TypeError when an option is not a positive integer
   * @throws RangeError when `values` do not fit one `FCGI_GET_VALUES_RESULT` record
   */
  constructor(socket: Duplex, options: FcgiConnectionOptions = {}) {
    super();
    const resolved = resolveConnectionOptions(options);
    this.#options = resolved;
    const io = new ConnectionSocket(socket, {
      data: (chunk) => {
        this.#onData(chunk);
      },
      end: () => {
        this.#onEnd();
      },
      close: () => {
        this.#onClose();
      },
    });
    this.#io = io;
    const channel: RequestChannel = {
      write: (buffers) => io.write(buffers),
      writeHeld: (buffers) => io.writeHeld(buffers),
      whenDrained: (callback) => {
        io.whenDrained(callback);
      },
      resumeInput: () => {
        io.resumeInput();
      },
      done: (request) => {
        this.#responder.end(request.requestId);
      },
    };
    this.#responder = new Responder<ResponderRequest>(
      {
        begin: (requestId, keepConn) => {
          const tempPath = resolved.holdOutputTempPath;
          this.#held = tempPath === undefined ? undefined : new HeldChannel(channel, {
            tempPath,
            failed: (err) => {
              this.emit('hold-failed', err);
              io.destroy();
            },
          });
          return new ResponderRequest({ requestId, keepConn }, this.#held ?? channel, resolved.stdinHighWaterMarkBytes);
        },
        params: (request, pairs) => {
          request.start(pairs);
          this.emit('request', request);
        },
        stdin: (request, content) => {
          // Stop reading while the handler is not reading (node-fastcgi buffered without bound: audit A-9).
          if (!request.pushStdin(content)) io.pauseForStdin();
          if (content.length === 0) this.#held?.bodyEnded();
        },
        abort: (request) => {
          request.abort('fastcgi: request aborted by the web server (FCGI_ABORT_REQUEST)');
        },
        reply: (record) => io.write([record]),
        close: () => {
          io.linger();
        },
        idle: () => {
          io.resumeInput();
          if (io.peerEnded) io.linger();
          this.emit('idle');
        },
      },
      { maxParamsBytes: resolved.maxParamsBytes, maxRequests: 1, values: () => this.#options.values },
    );
  }

  #onData(chunk: Buffer): void {
    if (this.#failed) return;
    try {
      this.#responder.push(chunk);
    } catch (err) {
      this.#failed = true;
      this.#io.destroy();
      if (!(err instanceof ProtocolError)) throw err; // a bug (ours or a 'request' listener's)
      this.emit('protocol-error', err);
    }
  }

  /** True between requests: no BEGIN_REQUEST without its END_REQUEST written. */
  get idle(): boolean {
    return this.#responder.idle;
  }

  #onEnd(): void {
    const started = this.#started();
    // nginx signals a client abort by closing the connection; the handler ends the request.
    for (const request of started) request.abort('fastcgi: connection closed by the web server');
    if (started.length > 0) return;
    this.#responder.clear();
    this.#io.linger();
  }

  #onClose(): void {
    this.#held?.drop();
    const started = this.#started();
    this.#responder.clear();
    for (const request of started) request.abort('fastcgi: connection closed');
    this.emit('close');
  }

  /** The requests handed out (params complete) and not yet ended. */
  #started(): ResponderRequest[] {
    const started: ResponderRequest[] = [];
    this.#responder.forEach((request, isStarted) => {
      if (isStarted) started.push(request);
    });
    return started;
  }
}
