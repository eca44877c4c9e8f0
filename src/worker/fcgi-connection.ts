// This file implements a FastCGI responder connection from the perspective of the worker (or a
// standalone mod_fcgid child) reading one connection: one request at a time, records dispatched
// the way the spec asks, backpressure both ways, and a lingering close so a web server still
// sending a body it no longer needs gets a FIN and its response, never a reset (audit A-4).

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  FCGI_KEEP_CONN,
  FCGI_MAX_CONTENT_LEN,
  FCGI_NULL_REQUEST_ID,
  isKnownRecordType,
  ProtocolStatus,
  RecordType,
  Role,
} from '../fastcgi/constants.ts';
import { NameValueDecoder } from '../fastcgi/name-value.ts';
import { RecordParser } from '../fastcgi/parser.ts';
import { decodeBeginRequestBody, type FcgiRecord } from '../fastcgi/record.ts';
import { encodeEndRequest, encodeGetValuesResult, encodeUnknownType } from '../fastcgi/writer.ts';
import { ProtocolError } from '../errors.ts';
import { ResponderRequest, type RequestChannel } from './fcgi-connection-request.ts';
import { ConnectionSocket } from './fcgi-connection-socket.ts';
import {
  resolveConnectionOptions,
  type FcgiConnectionOptions,
  type ResolvedConnectionOptions,
} from './fcgi-connection-options.ts';

export type { FcgiRequest } from './fcgi-connection-request.ts';
export type { FcgiConnectionOptions } from './fcgi-connection-options.ts';

/** The request between its BEGIN_REQUEST and its END_REQUEST. */
interface Slot {
  readonly requestId: number;
  readonly keepConn: boolean;
  /** Set while the params stream is open. */
  decoder: NameValueDecoder | undefined;
  /** Set once the params ended and 'request' was emitted. */
  request: ResponderRequest | undefined;
}

/**
 * A FastCGI responder on one connection (any `Duplex`: a unix socket, a socketpair, fd 0), one
 * request at a time. Events: `'request'` (req: {@link FcgiRequest}) after a request's empty PARAMS
 * record; `'protocol-error'` (err: {@link ProtocolError}, `ERR_FCGI_PROTOCOL` or
 * `ERR_FCGI_PARAMS_TOO_LARGE`), after which the socket is destroyed; `'idle'` () once a request's
 * END_REQUEST was written (with `FCGI_KEEP_CONN` the connection then waits for the next one);
 * `'close'` () once the socket closed (socket errors end here too). A request in flight when the
 * connection closes is aborted.
 * @throws TypeError (constructor) when an option is not a positive integer
 * @throws RangeError (constructor) when `values` do not fit one GET_VALUES_RESULT record
 * @see FastCGI spec §3 (connections), §5 (application records), §6.2 (responder)
 */
export class FcgiResponderConnection extends EventEmitter {
  readonly #io: ConnectionSocket;
  readonly #parser = new RecordParser((record) => {
    this.#onRecord(record);
  });
  readonly #options: ResolvedConnectionOptions;
  readonly #channel: RequestChannel;
  #slot: Slot | undefined;
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
    this.#options = resolveConnectionOptions(options);
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
    this.#channel = {
      write: (buffers) => io.write(buffers),
      writeHeld: (buffers) => io.writeHeld(buffers),
      whenDrained: (callback) => {
        io.whenDrained(callback);
      },
      resumeInput: () => {
        io.resumeInput();
      },
      done: (request) => {
        if (this.#slot?.request === request) this.#endSlot(request.keepConn);
      },
    };
  }

  #onData(chunk: Buffer): void {
    if (this.#failed) return;
    try {
      this.#parser.push(chunk);
    } catch (err) {
      this.#failed = true;
      this.#io.destroy();
      if (!(err instanceof ProtocolError)) throw err; // a bug (ours or a 'request' listener's)
      this.emit('protocol-error', err);
    }
  }

  #onRecord(record: FcgiRecord): void {
    if (this.#failed || this.#io.lingering) return;
    const { type, requestId, content } = record;
    if (type === RecordType.FCGI_GET_VALUES) {
      this.#answerGetValues(content);
      return;
    }
    // Unknown types (node-fastcgi crashed: audit A-1), and management records we do not understand.
    if (requestId === FCGI_NULL_REQUEST_ID || !isKnownRecordType(type)) {
      this.#io.write([encodeUnknownType(type)]);
      return;
    }
    if (type === RecordType.FCGI_BEGIN_REQUEST) {
      this.#begin(requestId, content);
      return;
    }
    const slot = this.#slot;
    if (slot?.requestId !== requestId) return; // unknown ids, and records after END_REQUEST
    switch (type) {
      case RecordType.FCGI_PARAMS:
        this.#params(slot, content);
        break;
      case RecordType.FCGI_STDIN:
        this.#stdin(slot, content);
        break;
      case RecordType.FCGI_ABORT_REQUEST:
        this.#abort(slot);
        break;
      case RecordType.FCGI_DATA: // the filter role's
      case RecordType.FCGI_GET_VALUES: // answered above
      case RecordType.FCGI_END_REQUEST: // the rest only ever flow to a web server
      case RecordType.FCGI_STDOUT:
      case RecordType.FCGI_STDERR:
      case RecordType.FCGI_GET_VALUES_RESULT:
      case RecordType.FCGI_UNKNOWN_TYPE:
        break;
    }
  }

  #begin(requestId: number, content: Buffer): void {
    const { role, flags } = decodeBeginRequestBody(content, requestId);
    if (this.#slot !== undefined) {
      if (this.#slot.requestId === requestId) {
        throw new ProtocolError(
          `fastcgi: FCGI_BEGIN_REQUEST for request ${requestId}, already in progress`,
          requestId,
        );
      }
      // One request at a time (node-fastcgi ran them concurrently: audit A-8).
      this.#io.write([encodeEndRequest(requestId, 0, ProtocolStatus.FCGI_CANT_MPX_CONN)]);
      return;
    }
    const keepConn = (flags & FCGI_KEEP_CONN) !== 0; // node-fastcgi misspelled the flag: audit A-5
    if (role !== Role.FCGI_RESPONDER) {
      this.#io.write([encodeEndRequest(requestId, 0, ProtocolStatus.FCGI_UNKNOWN_ROLE)]);
      if (!keepConn) this.#io.linger();
      return;
    }
    const decoder = new NameValueDecoder(this.#options.maxParamsBytes, requestId);
    this.#slot = { requestId, keepConn, decoder, request: undefined };
  }

  #params(slot: Slot, content: Buffer): void {
    const decoder = slot.decoder;
    if (decoder === undefined) return; // a repeated empty PARAMS (node-fastcgi crashed: audit A-3)
    if (content.length > 0) {
      decoder.push(content);
      return;
    }
    slot.decoder = undefined;
    const head = { requestId: slot.requestId, keepConn: slot.keepConn, params: decoder.end() };
    slot.request = new ResponderRequest(head, this.#channel, this.#options.stdinHighWaterMarkBytes);
    this.emit('request', slot.request);
  }

  #stdin(slot: Slot, content: Buffer): void {
    if (slot.request === undefined) {
      throw new ProtocolError(`fastcgi: FCGI_STDIN before the end of FCGI_PARAMS`, slot.requestId);
    }
    // Stop reading while the handler is not reading (node-fastcgi buffered without bound: audit A-9).
    if (!slot.request.pushStdin(content)) this.#io.pauseForStdin();
  }

  #abort(slot: Slot): void {
    if (slot.request !== undefined) {
      slot.request.abort('fastcgi: request aborted by the web server (FCGI_ABORT_REQUEST)');
      return;
    }
    // Aborted while its params were still arriving: no handler to tell, so answer for it.
    this.#io.write([encodeEndRequest(slot.requestId, 0, ProtocolStatus.FCGI_REQUEST_COMPLETE)]);
    this.#endSlot(slot.keepConn);
  }

  #answerGetValues(content: Buffer): void {
    const decoder = new NameValueDecoder(FCGI_MAX_CONTENT_LEN);
    decoder.push(content);
    this.#io.write([encodeGetValuesResult(decoder.end().keys(), this.#options.values)]);
  }

  /** True between requests: no BEGIN_REQUEST without its END_REQUEST written. */
  get idle(): boolean {
    return this.#slot === undefined;
  }

  #endSlot(keepConn: boolean): void {
    this.#slot = undefined;
    this.#io.resumeInput();
    if (!keepConn || this.#io.peerEnded) this.#io.linger();
    this.emit('idle');
  }

  #onEnd(): void {
    const request = this.#slot?.request;
    if (request !== undefined) {
      // nginx signals a client abort by closing the connection; the handler ends the request.
      request.abort('fastcgi: connection closed by the web server');
      return;
    }
    this.#slot = undefined;
    this.#io.linger();
  }

  #onClose(): void {
    const request = this.#slot?.request;
    this.#slot = undefined;
    request?.abort('fastcgi: connection closed');
    this.emit('close');
  }
}
