// This file implements fetch handlers (`{ fetch(request) }`, Hono apps) from the perspective of
// the handler runtime: the CGI request becomes a web `Request` whose body streams from stdin,
// and the `Response` becomes a CGI head and a body streamed into stdout with backpressure.
import { Readable } from 'node:stream';
import type { RuntimeHost, RuntimeRequest, RuntimeResult } from '../types.ts';
import {
  ABORTED,
  answerFailure,
  FAILED,
  reportFailure,
  SUCCEEDED,
  whenAborted,
  writeHead,
} from './cgi-reply.ts';
import type { FetchHandler } from './load-handler.ts';
import { requestHead, requestUrl } from './request-head.ts';
import { copyWebBody } from './web-body.ts';

/** Methods whose requests carry no body in the Fetch standard (`new Request` refuses one). */
const BODILESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/**
 * Creates the runtime of a fetch handler. Runs may overlap (`handler.concurrency`); each has its
 * own `Request`. A handler that throws, rejects or resolves with something other than a
 * `Response` gets the request a 500, its stack on `onStderrLine`, and the run resolves
 * `exitCode: 1`. An abort (`signal`, which is also the `Request`'s signal) resolves the run at
 * once and cancels the response body.
 */
export function createFetchHost(handler: FetchHandler): RuntimeHost {
  return {
    run: (req) => runFetch(handler, req),
    close: () => Promise.resolve(),
  };
}

async function runFetch(handler: FetchHandler, req: RuntimeRequest): Promise<RuntimeResult> {
  let request: Request;
  try {
    request = toRequest(req);
  } catch (err) {
    return answerFailure(req, 400, 'cannot pass the request to the handler', err);
  }
  let answer: Promise<unknown>;
  try {
    answer = Promise.resolve(handler.fetch(request));
  } catch (err) {
    return answerFailure(req, 500, 'fetch() threw', err);
  }
  const aborted = whenAborted(req.signal);
  let response: unknown;
  try {
    response = await Promise.race([answer, aborted.promise]);
  } catch (err) {
    return answerFailure(req, 500, 'fetch() rejected', err);
  } finally {
    aborted.dispose();
  }
  if (response === ABORTED) {
    // Answered late: nobody reads that body.
    void answer.then(cancelBody, () => undefined);
    return ABORTED;
  }
  if (!isResponse(response)) {
    return answerFailure(
      req,
      500,
      'fetch() did not answer a Response',
      new TypeError(`got ${describe(response)}`),
    );
  }
  return send(req, response);
}

/** The web `Request` of a CGI request; its body is stdin when one is attached. */
function toRequest(req: RuntimeRequest): Request {
  const head = requestHead(req.requestVariables ?? req.environment ?? req.env);
  const headers = new Headers();
  headers.set('host', head.host);
  for (const [name, value] of head.headers) headers.append(name, value);
  const init: RequestInit & { duplex?: 'half' } = { method: head.method, headers, signal: req.signal };
  if (head.contentLength !== undefined && !BODILESS_METHODS.has(head.method.toUpperCase())) {
    headers.set('content-length', String(head.contentLength));
    if (head.contentLength > 0) {
      init.body = Readable.toWeb(req.stdin) as ReadableStream<Uint8Array>;
      // Required by the Fetch standard for a streamed body; the response may come before its end.
      init.duplex = 'half';
    }
  }
  return new Request(requestUrl(head), init);
}

/** Writes `response` into `req.stdout`: the head, then the body with backpressure. */
async function send(req: RuntimeRequest, response: Response): Promise<RuntimeResult> {
  try {
    writeHead(req, response.status, response.statusText, fields(ownHeaders(response.headers)));
  } catch (err) {
    cancelBody(response);
    return answerFailure(req, 500, 'response head cannot be sent as CGI', err);
  }
  if (response.body === null) return SUCCEEDED;
  const end = await copyWebBody(response.body, req.stdout, req.signal);
  switch (end.kind) {
    case 'ended':
      return SUCCEEDED;
    case 'aborted':
      return ABORTED;
    case 'failed':
      reportFailure(req, 'response body failed', end.error);
      return FAILED;
  }
}

/** Every header field; `Set-Cookie` once per cookie (`getSetCookie`), never comma-joined. */
function* fields(headers: Headers): Generator<[string, string]> {
  for (const [name, value] of headers) if (name !== 'set-cookie') yield [name, value];
  for (const cookie of headers.getSetCookie()) yield ['set-cookie', cookie];
}

/** `headers` as this realm's `Headers` (a `Response` built by another copy of undici has its own). */
function ownHeaders(headers: Headers): Headers {
  return headers instanceof Headers
    ? headers
    : new Headers([...(headers as unknown as Iterable<[string, string]>)]);
}

/** A `Response`, of this realm or of another copy of undici (same shape: status, headers, body). */
function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { status?: unknown; headers?: unknown };
  return (
    typeof candidate.status === 'number' &&
    typeof candidate.headers === 'object' &&
    candidate.headers !== null &&
    Symbol.iterator in candidate.headers &&
    'body' in candidate
  );
}

function cancelBody(value: unknown): void {
  if (isResponse(value) && value.body !== null) value.body.cancel().catch(() => undefined);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' ? `an object (${name})` : 'an object';
}
