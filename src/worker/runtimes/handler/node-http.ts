// This file implements node-http handlers (`(req, res)`, Express apps) from the perspective of
// the handler runtime, with public Node APIs only: one `http.Server` that never listens gets
// in-memory connections (`server.emit('connection', socket)`: "any Duplex stream can be
// passed"), kept alive from one request to the next; the runtime writes each request into one
// as HTTP/1.1 bytes and reads the response out of it with its own `ResponseParser`.
// Why not Node's HTTP client (`http.request` with `createConnection`), as before: it cost about
// a quarter of a hello-world request (an OutgoingMessage, a second llhttp parser and an
// IncomingMessage per request), while the bytes Node's own server writes need only the framing
// rules of RFC 9112 §6.3: interim 1xx, no body for HEAD/204/304, chunked, Content-Length, close.
import { createServer, validateHeaderValue, type IncomingMessage, type ServerResponse } from 'node:http';
import { DEFAULT_MAX_HEAD_BYTES } from '../../../cgi/response.ts';
import { errorPage } from '../../../cgi/error-page.ts';
import { onRunAbort, runAborted, type RuntimeHost, type RuntimeRequest, type RuntimeResult } from '../types.ts';
import { ABORTED, answerFailure, FAILED, reportFailure, SUCCEEDED, writeHead } from './cgi-reply.ts';
import type { NodeHttpHandler } from './load-handler.ts';
import { requestHead, type HttpRequestHead } from './request-head.ts';
import { ResponseParser, type ResponseEvents, type ResponseHead } from './response-parser.ts';
import { ServerConnections, type Exchange, type ServerConnection } from './server-connections.ts';

/**
 * Largest request head the server accepts, in bytes: above the FastCGI params bound (1 MiB),
 * so whatever the web server could send reaches the handler.
 */
const MAX_REQUEST_HEAD_BYTES = 2 * 1024 * 1024;

/** Idle connections kept for the next requests (one per concurrent run is enough). */
const MAX_IDLE_CONNECTIONS = 16;

/** One run's state, found from the server end of its connection. */
interface Call {
  readonly req: RuntimeRequest;
  /** The handler threw or rejected (already reported). */
  failed: boolean;
}

/**
 * Creates the runtime of a node-http handler. Runs may overlap (`handler.concurrency`): each
 * has its own connection; the server and the handler are shared, as in any Node HTTP server.
 * A handler that throws or rejects before answering gets the request a 500; after answering
 * began, its response is cut short. Either way the stack goes to `onStderrLine` and the run
 * resolves `exitCode: 1`. An abort (`signal`) resets the connection: the handler sees `close`
 * on `req` and `res`.
 */
export function createNodeHttpHost(handler: NodeHttpHandler): RuntimeHost {
  const calls = new WeakMap<object, Call>();
  // requestTimeout 0: `request_terminate_timeout` bounds a request, not Node's 300 s default.
  const server = createServer({ requestTimeout: 0, maxHeaderSize: MAX_REQUEST_HEAD_BYTES }, (req, res) => {
    invoke(handler, req, res, calls.get(req.socket));
  });
  // An idle kept connection waits for the next request without a timer of its own.
  server.keepAliveTimeout = 0;
  const connections = new ServerConnections(server, MAX_IDLE_CONNECTIONS);
  return {
    run: async (req) => {
      const head = requestHead(req.requestVariables ?? req.environment ?? req.env);
      let bytes: Buffer;
      try {
        bytes = requestBytes(head);
      } catch (err) {
        // A method or Host the web server let through that HTTP cannot carry.
        return answerFailure(req, 400, 'cannot pass the request to the handler', err);
      }
      if (runAborted(req)) return ABORTED;
      // A body the handler did not read would still be owed to the server: no reuse then.
      const withBody = head.contentLength !== undefined && head.contentLength > 0;
      const connection = connections.acquire(head.addresses);
      const call: Call = { req, failed: false };
      calls.set(connection.server, call);
      // A reset: the handler sees 'close', the response stops, the body copy stops.
      const stopListening = onRunAbort(req, () => {
        connection.destroy();
      });
      let result: RuntimeResult = ABORTED;
      try {
        const answered = receive(connection, call, head.method === 'HEAD');
        connection.client.write(bytes);
        if (withBody) req.stdin.pipe(connection.client, { end: false });
        result = await answered;
        return result;
      } finally {
        stopListening();
        if (withBody) req.stdin.unpipe(connection.client);
        connections.release(connection, result === SUCCEEDED && !withBody);
      }
    },
    close: () => {
      connections.destroyAll();
      return Promise.resolve();
    },
  };
}

/** Calls the handler; a throw or a rejection is reported and its response reset. */
function invoke(
  handler: NodeHttpHandler,
  req: IncomingMessage,
  res: ServerResponse,
  call: Call | undefined,
): void {
  const fail = (err: unknown): void => {
    if (call === undefined) return;
    call.failed = true;
    reportFailure(call.req, res.writableEnded ? 'handler failed after its response' : 'handler failed', err);
    // Not answered yet: the run answers 500. Answering: cut short, as a crashed server would.
    if (!res.writableEnded) res.destroy();
  };
  try {
    const result = handler(req, res);
    if (isPromiseLike(result)) result.then(undefined, fail);
  } catch (err) {
    fail(err);
  }
}

/** An HTTP method: a token (RFC 9110 §9.1, §5.6.2). */
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * DEL and bytes above 0x7F in a request-target: Node's parser answers 400 to them (a client's
 * raw byte reaches REQUEST_URI as is), so they go percent-encoded, as browsers send them.
 */
const HIGH_BYTES = /[\x7f-\xff]/g;

function percent(byte: string): string {
  return `%${byte.charCodeAt(0).toString(16).toUpperCase()}`;
}

/**
 * The request as HTTP/1.1 bytes: request line, Host, the client's fields and Content-Length;
 * the connection stays open (HTTP/1.1's default). (`requestHead` already dropped the fields
 * Node would refuse, and percent-encoded the target.)
 * @throws TypeError for a method that is not a token; Error `ERR_INVALID_CHAR` for a Host
 *   with CR, LF or NUL
 */
function requestBytes(head: HttpRequestHead): Buffer {
  if (!METHOD.test(head.method)) throw new TypeError(`handler: request: method ${JSON.stringify(head.method)} is not a token`);
  validateHeaderValue('host', head.host);
  let text = `${head.method} ${head.target.replace(HIGH_BYTES, percent)} HTTP/1.1\r\nhost: ${head.host}\r\n`;
  for (const [name, value] of head.headers) text += `${name}: ${value}\r\n`;
  if (head.contentLength !== undefined) text += `content-length: ${String(head.contentLength)}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

/**
 * Reads the handler's response from `connection` and writes it into `req.stdout` as CGI, with
 * backpressure (the server's writes wait while `req.stdout` is full).
 */
function receive(connection: ServerConnection, call: Call, noBody: boolean): Promise<RuntimeResult> {
  return new Promise((resolve) => {
    connection.begin(new ResponseRelay(connection, call, noBody, resolve));
  });
}

/**
 * One run's response on its way: the bytes of the connection (an {@link Exchange}) through the
 * response parser (its {@link ResponseEvents}) into `req.stdout`. One object per run, its
 * methods shared, rather than a closure per event.
 */
class ResponseRelay implements Exchange, ResponseEvents {
  readonly #connection: ServerConnection;
  readonly #call: Call;
  readonly #resolve: (result: RuntimeResult) => void;
  readonly #parser: ResponseParser;
  #settled = false;
  /** Body writes whose callback has not come yet. */
  #writing = 0;
  /** `req.stdout` asked to wait for 'drain'. */
  #full = false;
  /** The connection's next chunk, held until `req.stdout` drains. */
  #held: (() => void) | undefined;

  constructor(connection: ServerConnection, call: Call, noBody: boolean, resolve: (result: RuntimeResult) => void) {
    this.#connection = connection;
    this.#call = call;
    this.#resolve = resolve;
    this.#parser = new ResponseParser(this, { noBody, maxHeadBytes: DEFAULT_MAX_HEAD_BYTES });
  }

  /** {@inheritDoc ResponseEvents.head} */
  head(head: ResponseHead): void {
    const failed = writeCgiHead(this.#call.req, head);
    if (failed !== undefined) this.#settle(failed);
  }

  /** {@inheritDoc ResponseEvents.body} */
  body(chunk: Buffer): void {
    const stdout = this.#call.req.stdout;
    if (this.#settled || stdout.destroyed || stdout.writableEnded) return;
    this.#writing++;
    if (!stdout.write(chunk, this.#written)) this.#full = true;
  }

  /** {@inheritDoc ResponseEvents.end} */
  end(): void {
    if (this.#writing === 0) this.#settle(this.#call.failed ? FAILED : SUCCEEDED);
  }

  /** {@inheritDoc Exchange.data} */
  data(chunk: Buffer, done: () => void): void {
    const parser = this.#parser;
    try {
      parser.push(chunk);
    } catch (err) {
      const { req } = this.#call;
      this.#settle(parser.headRead ? cutShort(this.#call, err) : answerFailure(req, 500, 'response cannot be read', err));
    }
    if (this.#settled || !this.#full) {
      done();
      return;
    }
    this.#full = false;
    this.#held = done;
    this.#call.req.stdout.once('drain', this.#release);
  }

  /** {@inheritDoc Exchange.closed} */
  closed(): void {
    if (this.#settled || this.#parser.finish()) return;
    this.#settle(unanswered(this.#call, this.#parser.headRead));
  }

  readonly #written = (): void => {
    this.#writing--;
    if (this.#parser.complete && this.#writing === 0) this.#settle(this.#call.failed ? FAILED : SUCCEEDED);
  };

  readonly #release = (): void => {
    const done = this.#held;
    this.#held = undefined;
    done?.();
  };

  #settle(result: RuntimeResult): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#call.req.stdout.off('drain', this.#release);
    this.#connection.end();
    this.#release();
    this.#resolve(result);
  }
}

/** Writes the head as CGI; returns the run's result when it cannot be. */
function writeCgiHead(req: RuntimeRequest, head: ResponseHead): RuntimeResult | undefined {
  try {
    writeHead(req, head.statusCode, head.statusMessage, head.fields);
    return undefined;
  } catch (err) {
    return answerFailure(req, 500, 'response head cannot be sent as CGI', err);
  }
}

/** The connection ended before the response did. */
function unanswered(call: Call, headRead: boolean): RuntimeResult {
  const { req } = call;
  if (runAborted(req)) return ABORTED;
  if (headRead) {
    return cutShort(call, new Error('the connection closed before the response ended'));
  }
  const error = new Error('the handler closed the connection without a response');
  if (!call.failed) reportFailure(req, 'connection closed without a response', error);
  else req.stdout.write(errorPage(500));
  return FAILED;
}

function cutShort(call: Call, err: unknown): RuntimeResult {
  if (runAborted(call.req)) return ABORTED;
  if (!call.failed) reportFailure(call.req, 'response cut short', err);
  return FAILED;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
