// This file implements HTTP requests from the perspective of a test talking to nginx over its
// unix socket (or to Apache on a loopback port): every request is bounded in time, and the raw
// response (status, every header line, body bytes) comes back for exact assertions.
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

/** Options for {@link httpRequest}. */
export interface HttpRequestOptions {
  /** Unix socket of the HTTP server (nginx); give it or `port`. */
  readonly socketPath?: string;
  /** TCP port of the HTTP server on 127.0.0.1 (Apache cannot listen on a unix socket). */
  readonly port?: number;
  /** Request target, e.g. `/get-echo.py?a=1`. Sent as is (no normalisation). */
  readonly path: string;
  /** @defaultValue `"GET"` */
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  /** Request body; `Content-Length` is set from it. */
  readonly body?: Buffer | string;
  /** A keep-alive agent from {@link keepAliveAgent}; default: a new connection per request. */
  readonly agent?: Agent;
  /** The request fails (socket destroyed) after this many milliseconds. @defaultValue 30000 */
  readonly timeoutMs?: number;
  /** Aborting it gives up the request (socket destroyed, the promise rejects): a client leaving. */
  readonly signal?: AbortSignal;
}

/** A complete HTTP response. */
export interface HttpResponse {
  readonly status: number;
  /** Node's parsed headers (`set-cookie` is an array). */
  readonly headers: IncomingHttpHeaders;
  /** Header lines as received: name, value, name, value, ... (repeated headers stay repeated). */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** Body as UTF-8 text. */
  readonly text: string;
}

/**
 * Sends one request and reads the whole response.
 *
 * @throws Error on connection failure or when `timeoutMs` passes (the socket is destroyed)
 */
export function httpRequest(options: HttpRequestOptions): Promise<HttpResponse> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const method = options.method ?? 'GET';
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  const headers: OutgoingHttpHeaders = { host: 'localhost', ...options.headers };
  if (body !== undefined) headers['content-length'] = body.length;
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = request({
      ...(options.port === undefined
        ? { socketPath: options.socketPath }
        : { host: '127.0.0.1', port: options.port }),
      path: options.path,
      method,
      headers,
      agent: options.agent ?? false,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`http: ${method} ${options.path}: no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.once('end', () => {
        clearTimeout(timer);
        const all = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: all,
          text: all.toString('utf8'),
        });
      });
    });
    req.end(body);
  });
}

/** Every value of header `name` (case-insensitive) in the order received. */
export function headerValues(response: HttpResponse, name: string): string[] {
  const out: string[] = [];
  const lower = name.toLowerCase();
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
    if (response.rawHeaders[i]?.toLowerCase() === lower) out.push(response.rawHeaders[i + 1] ?? '');
  }
  return out;
}

/**
 * An agent that keeps connections to nginx open and reuses them.
 *
 * @param maxSockets - connections at most (1 makes requests strictly sequential on one socket)
 * @defaultValue maxSockets 1
 */
export function keepAliveAgent(maxSockets = 1): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}
