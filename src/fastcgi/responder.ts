// This file implements the FastCGI responder role from the perspective of an application reading
// one connection, as one state machine without I/O (Go's net/http/fcgi child.go without its
// sockets): records in, the caller's events out (a request begins, its params are complete, a
// body record, an abort), plus the replies the specification makes the application send by itself
// (GET_VALUES_RESULT, UNKNOWN_TYPE, CANT_MPX_CONN, UNKNOWN_ROLE, END_REQUEST after an abort that
// came before the params ended) and the close after a request without FCGI_KEEP_CONN. The
// supervisor's web-server connection and the worker's connection both drive it.

import { ErrorCode, ProtocolError } from '../errors.ts';
import {
  FCGI_KEEP_CONN,
  FCGI_MAX_CONTENT_LEN,
  FCGI_NULL_REQUEST_ID,
  GetValuesName,
  isKnownRecordType,
  ProtocolStatus,
  RecordType,
  Role,
} from './constants.ts';
import { NameValueDecoder, type NameValuePairs } from './name-value.ts';
import { RecordParser } from './parser.ts';
import { decodeBeginRequestBody, type FcgiRecord } from './record.ts';
import { encodeEndRequest, encodeGetValuesResult, encodeUnknownType } from './writer.ts';

/**
 * What a {@link Responder} tells its driver. Called synchronously from `push`/`receive`/`end`;
 * an exception thrown here propagates to the driver's call (and the stream is lost).
 * `R` is the driver's own object for one request.
 */
export interface ResponderEvents<R> {
  /** A responder request begins (`FCGI_BEGIN_REQUEST`): the driver's object for it. */
  begin(requestId: number, keepConn: boolean): R;
  /** The request's params are complete (its empty `FCGI_PARAMS` record): it may start. */
  params(request: R, pairs: NameValuePairs): void;
  /** One `FCGI_STDIN` record of a started request; an empty one ends the body. */
  stdin(request: R, content: Buffer): void;
  /**
   * `FCGI_ABORT_REQUEST` for a started request: stop it; its `FCGI_END_REQUEST` is still owed
   * (the driver sends it, then calls {@link Responder.end}).
   */
  abort(request: R): void;
  /** A whole record the application owes the web server by itself: write it. */
  reply(record: Buffer): void;
  /** No more requests will be served: close the connection (after what was written). */
  close(): void;
  /** The last request in flight ended: the connection waits for the next one. */
  idle(): void;
  /**
   * The request's params stream passed `maxParamsBytes`; it ended (its empty `FCGI_PARAMS`
   * record came) without its bytes being kept. The driver answers it (an HTTP error) and sends
   * its END_REQUEST. Absent: the stream is lost instead (`push` throws the ProtocolError).
   */
  paramsTooLarge?(request: R, error: ProtocolError): void;
}

/** Settings of a {@link Responder}. */
export interface ResponderOptions {
  /** Bound on one request's params stream, in bytes. */
  readonly maxParamsBytes: number;
  /**
   * Requests in flight at once on the connection. 1 (the worker's) means no multiplexing: a
   * second BEGIN_REQUEST gets `FCGI_CANT_MPX_CONN` and GET_VALUES answers `FCGI_MPXS_CONNS=0`;
   * above 1 (the supervisor's, unless `listen.mpxs_conns = false`) requests are told apart by
   * id, one past the limit gets `FCGI_CANT_MPX_CONN`, and `FCGI_MPXS_CONNS=1`.
   */
  readonly maxRequests: number;
  /**
   * The `FCGI_GET_VALUES` answers (`FCGI_MAX_CONNS`, `FCGI_MAX_REQS`), read at each
   * GET_VALUES so the caller may change them (a reload). `FCGI_MPXS_CONNS` is set from
   * `maxRequests` over whatever this says.
   */
  readonly values: () => Readonly<Record<string, string>>;
}

/** One request between its BEGIN_REQUEST and the END_REQUEST its driver sent. */
class Slot<R> {
  readonly request: R;
  readonly keepConn: boolean;
  /** Open while the params stream is; `undefined` once the request started. */
  decoder: NameValueDecoder | undefined;
  /** The params passed the bound: the rest of the stream is skipped, then the driver told. */
  tooLarge: ProtocolError | undefined;

  constructor(request: R, keepConn: boolean, decoder: NameValueDecoder) {
    this.request = request;
    this.keepConn = keepConn;
    this.decoder = decoder;
    this.tooLarge = undefined;
  }
}

/**
 * The responder role on one connection: feed it the connection's bytes ({@link Responder.push})
 * or records ({@link Responder.receive}); tell it when the driver has sent a request's
 * END_REQUEST ({@link Responder.end}). Records for ids it does not track are ignored, as the
 * spec says; records of a kind it does not know get `FCGI_UNKNOWN_TYPE`.
 * @see FastCGI spec §3.3 (records), §4 (management records), §5 (application records), §6.2
 */
export class Responder<R> {
  readonly #events: ResponderEvents<R>;
  readonly #options: ResponderOptions;
  readonly #slots = new Map<number, Slot<R>>();
  readonly #parser = new RecordParser((record) => {
    this.receive(record);
  });
  /** A request without FCGI_KEEP_CONN began: no more requests after it. */
  #closing = false;

  /**
   * @param events - the driver's side
   * @param options - see {@link ResponderOptions}
   * @throws TypeError when `maxParamsBytes` or `maxRequests` is not a positive integer
   */
  constructor(events: ResponderEvents<R>, options: ResponderOptions) {
    for (const [name, value] of [['maxParamsBytes', options.maxParamsBytes], ['maxRequests', options.maxRequests]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new TypeError(`fastcgi: ${name} must be a positive integer, got ${value}`);
      }
    }
    this.#events = events;
    this.#options = options;
  }

  /** True when no request is in flight (between BEGIN_REQUEST and its END_REQUEST). */
  get idle(): boolean {
    return this.#slots.size === 0;
  }

  /** Requests in flight (between BEGIN_REQUEST and their END_REQUEST). */
  get size(): number {
    return this.#slots.size;
  }

  /**
   * Feed the next bytes of the connection.
   * @throws ProtocolError (`ERR_FCGI_PROTOCOL`, `ERR_FCGI_PARAMS_TOO_LARGE`) for bytes that
   *   are not a well-formed FastCGI conversation: close the connection; the state is lost
   */
  push(chunk: Buffer): void {
    this.#parser.push(chunk);
  }

  /**
   * Handle one record.
   * @throws ProtocolError as {@link Responder.push}
   */
  receive(record: FcgiRecord): void {
    const { type, requestId, content } = record;
    if (type === RecordType.FCGI_GET_VALUES) {
      this.#getValues(content);
      return;
    }
    // Unknown types (node-fastcgi crashed: audit A-1), and management records we do not understand.
    if (requestId === FCGI_NULL_REQUEST_ID || !isKnownRecordType(type)) {
      this.#events.reply(encodeUnknownType(type));
      return;
    }
    if (type === RecordType.FCGI_BEGIN_REQUEST) {
      this.#begin(requestId, content);
      return;
    }
    const slot = this.#slots.get(requestId);
    if (slot === undefined) return; // unknown ids, and records after END_REQUEST
    switch (type) {
      case RecordType.FCGI_PARAMS:
        this.#params(slot, content);
        return;
      case RecordType.FCGI_STDIN:
        if (slot.decoder !== undefined) {
          throw new ProtocolError('fastcgi: FCGI_STDIN before the end of FCGI_PARAMS', requestId);
        }
        this.#events.stdin(slot.request, content);
        return;
      case RecordType.FCGI_ABORT_REQUEST:
        this.#abort(requestId, slot);
        return;
      case RecordType.FCGI_DATA: // the filter role's
      case RecordType.FCGI_GET_VALUES: // answered above
      case RecordType.FCGI_END_REQUEST: // the rest only ever flow to a web server
      case RecordType.FCGI_STDOUT:
      case RecordType.FCGI_STDERR:
      case RecordType.FCGI_GET_VALUES_RESULT:
      case RecordType.FCGI_UNKNOWN_TYPE:
        return;
    }
  }

  /**
   * The driver sent `requestId`'s END_REQUEST: forget the request (its later records are
   * ignored); then `close` if it had no FCGI_KEEP_CONN, and `idle` if none is left. A no-op for
   * an id not in flight.
   */
  end(requestId: number): void {
    if (!this.#slots.delete(requestId)) return;
    this.#ended();
  }

  /**
   * Calls `visit` for every request in flight, `started` telling whether its params were
   * complete (the driver was given it by `params`).
   */
  forEach(visit: (request: R, started: boolean) => void): void {
    for (const slot of this.#slots.values()) visit(slot.request, slot.decoder === undefined);
  }

  /** The connection is gone: forget every request (the driver ends its own). */
  clear(): void {
    this.#slots.clear();
  }

  #begin(requestId: number, content: Buffer): void {
    const { role, flags } = decodeBeginRequestBody(content, requestId);
    if (this.#slots.has(requestId)) {
      throw new ProtocolError(`fastcgi: FCGI_BEGIN_REQUEST for request ${requestId}, already in progress`, requestId);
    }
    if (this.#slots.size >= this.#options.maxRequests || this.#closing) {
      // One request at a time unless multiplexing (node-fastcgi ran them concurrently: audit A-8).
      this.#events.reply(encodeEndRequest(requestId, 0, ProtocolStatus.FCGI_CANT_MPX_CONN));
      return;
    }
    const keepConn = (flags & FCGI_KEEP_CONN) !== 0; // node-fastcgi misspelled the flag: audit A-5
    if (role !== Role.FCGI_RESPONDER) {
      this.#events.reply(encodeEndRequest(requestId, 0, ProtocolStatus.FCGI_UNKNOWN_ROLE));
      if (!keepConn) this.#closeWhenIdle();
      return;
    }
    const decoder = new NameValueDecoder(this.#options.maxParamsBytes, requestId);
    this.#slots.set(requestId, new Slot(this.#events.begin(requestId, keepConn), keepConn, decoder));
    if (!keepConn) this.#closing = true;
  }

  #params(slot: Slot<R>, content: Buffer): void {
    const decoder = slot.decoder;
    if (decoder === undefined) return; // a repeated empty PARAMS (node-fastcgi crashed: audit A-3)
    if (content.length > 0) {
      if (slot.tooLarge === undefined) this.#pushParams(slot, decoder, content);
      return;
    }
    slot.decoder = undefined;
    const tooLarge = slot.tooLarge;
    if (tooLarge !== undefined && this.#events.paramsTooLarge !== undefined) {
      this.#events.paramsTooLarge(slot.request, tooLarge);
      return;
    }
    this.#events.params(slot.request, decoder.finish());
  }

  /**
   * One PARAMS content into the stream. Past the bound, a driver that answers such requests
   * itself gets the rest of the stream skipped (its bytes dropped) rather than a lost connection.
   */
  #pushParams(slot: Slot<R>, decoder: NameValueDecoder, content: Buffer): void {
    try {
      decoder.push(content);
    } catch (err) {
      if (this.#events.paramsTooLarge === undefined || !(err instanceof ProtocolError)
        || err.code !== ErrorCode.ERR_FCGI_PARAMS_TOO_LARGE) throw err;
      slot.tooLarge = err;
      slot.decoder = new NameValueDecoder(0, err.requestId); // the bytes so far are freed
    }
  }

  #abort(requestId: number, slot: Slot<R>): void {
    if (slot.decoder === undefined) {
      this.#events.abort(slot.request);
      return;
    }
    // Aborted while its params were still arriving: no driver started it, so answer for it (§5.4).
    this.#slots.delete(requestId);
    this.#events.reply(encodeEndRequest(requestId, 0, ProtocolStatus.FCGI_REQUEST_COMPLETE));
    this.#ended();
  }

  #ended(): void {
    if (this.#slots.size > 0) return;
    if (this.#closing) this.#events.close();
    this.#events.idle();
  }

  #closeWhenIdle(): void {
    this.#closing = true;
    if (this.#slots.size === 0) this.#events.close();
  }

  #getValues(content: Buffer): void {
    const decoder = new NameValueDecoder(FCGI_MAX_CONTENT_LEN);
    decoder.push(content);
    const mpxs = this.#options.maxRequests > 1 ? '1' : '0';
    const values = { ...this.#options.values(), [GetValuesName.FCGI_MPXS_CONNS]: mpxs };
    this.#events.reply(encodeGetValuesResult(decoder.end().keys(), values));
  }
}
