// This file implements node-http handlers (`(req, res)`, Express apps) from the perspective of
// the handler runtime, with public Node APIs only: one `http.Server` that never listens gets
// each request as a new in-memory connection (`server.emit('connection', socket)`: "any Duplex
// stream can be passed"), and Node's own HTTP client (`http.request` with `createConnection`)
// writes the request into that connection and parses the response out of it.
// Why the client rather than a hand-written head and reply parser (say, an HTTP/1.0 request so
// Node does not chunk): an app may still set `Transfer-Encoding: chunked`, send 1xx interim
// responses (`writeEarlyHints`), or answer HEAD, 204 and 304 without a body, and the client
// already handles each exactly as on a real socket. It costs about 50 µs of CPU per request on
// top of the server's own parsing (measured: ~140 µs against ~90 µs for the server side alone).
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { DEFAULT_MAX_HEAD_BYTES } from '../../../cgi/response.ts';
import { errorPage } from '../../../cgi/error-page.ts';
import type { RuntimeHost, RuntimeRequest, RuntimeResult } from '../types.ts';
import {
  ABORTED,
  answerFailure,
  copyBody,
  FAILED,
  reportFailure,
  SUCCEEDED,
  writeHead,
} from './cgi-reply.ts';
import type { NodeHttpHandler } from './load-handler.ts';
import { memorySocketPair, type MemorySocket } from './memory-socket.ts';
import { requestHead, type HttpRequestHead } from './request-head.ts';

/**
 * Largest request head the server accepts, in bytes: above the FastCGI params bound (1 MiB),
 * so whatever the web server could send reaches the handler.
 */
const MAX_REQUEST_HEAD_BYTES = 2 * 1024 * 1024;

/** One run's state, found from the server end of its connection. */
interface Call {
  readonly req: RuntimeRequest;
  /** The handler threw or rejected (already reported). */
  failed: boolean;
}

/** What sending the request gave: the response head, or why there is none. */
type Sent = { response: IncomingMessage } | { error: Error; invalid: boolean };

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
  const open = new Set<MemorySocket>();
  // requestTimeout 0: `request_terminate_timeout` bounds a request, not Node's 300 s default.
  const server = createServer({ requestTimeout: 0, maxHeaderSize: MAX_REQUEST_HEAD_BYTES }, (req, res) => {
    invoke(handler, req, res, calls.get(req.socket));
  });
  return {
    run: async (req) => {
      const head = requestHead(req.env);
      const { client, server: end } = memorySocketPair(head.addresses);
      const call: Call = { req, failed: false };
      calls.set(end, call);
      open.add(client);
      // A reset: the handler sees 'close', the client side fails at once, the body copy stops.
      const onAbort = (): void => {
        client.destroy();
      };
      req.signal.addEventListener('abort', onAbort, { once: true });
      try {
        if (req.signal.aborted) return ABORTED;
        server.emit('connection', end);
        return await answer(await send(head, client, req), call);
      } finally {
        req.signal.removeEventListener('abort', onAbort);
        open.delete(client);
        client.destroy();
      }
    },
    close: () => {
      for (const socket of open) socket.destroy();
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

/**
 * Writes the request into the client end with Node's HTTP client (`Connection: close`, the body
 * piped from stdin with backpressure) and waits for the response head.
 */
function send(head: HttpRequestHead, client: MemorySocket, req: RuntimeRequest): Promise<Sent> {
  return new Promise<Sent>((resolve) => {
    const headers: Record<string, string> = { host: head.host };
    for (const [name, value] of head.headers) headers[name] = value;
    if (head.contentLength !== undefined) headers['content-length'] = String(head.contentLength);
    let outgoing;
    try {
      outgoing = request({
        method: head.method,
        path: head.target,
        headers,
        setHost: false,
        createConnection: () => client,
        maxHeaderSize: DEFAULT_MAX_HEAD_BYTES,
      });
    } catch (err) {
      // A method or target Node will not send (the web server let it through).
      resolve({ error: err as Error, invalid: true });
      return;
    }
    outgoing.once('response', (response) => {
      resolve({ response });
    });
    // Also after the response: the body may still be flowing when the connection closes.
    outgoing.on('error', (error) => {
      resolve({ error, invalid: false });
    });
    // Unpiped by `pipe` itself once `outgoing` closes.
    if (head.contentLength !== undefined && head.contentLength > 0) req.stdin.pipe(outgoing);
    else outgoing.end();
  });
}

/** Writes the handler's response (or the failure) into `req.stdout`. */
async function answer(sent: Sent, call: Call): Promise<RuntimeResult> {
  const { req } = call;
  if ('error' in sent) {
    if (req.signal.aborted) return ABORTED;
    if (sent.invalid) return answerFailure(req, 400, 'cannot pass the request to the handler', sent.error);
    if (!call.failed) reportFailure(req, 'connection closed without a response', sent.error);
    else req.stdout.write(errorPage(500));
    return FAILED;
  }
  const { response } = sent;
  try {
    writeHead(req, response.statusCode ?? 500, response.statusMessage ?? '', fieldPairs(response.rawHeaders));
  } catch (err) {
    return answerFailure(req, 500, 'response head cannot be sent as CGI', err);
  }
  const complete = await copyBody(req, response);
  if (req.signal.aborted) return ABORTED;
  if (call.failed) return FAILED;
  if (!complete) {
    reportFailure(req, 'response cut short', new Error('the connection closed before the response ended'));
    return FAILED;
  }
  return SUCCEEDED;
}

/** `[name, value, name, value, …]` as pairs. */
function* fieldPairs(raw: readonly string[]): Generator<[string, string]> {
  for (let i = 0; i + 1 < raw.length; i += 2) yield [raw[i] ?? '', raw[i + 1] ?? ''];
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
