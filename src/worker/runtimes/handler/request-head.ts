// This file implements the HTTP request a handler sees from the perspective of the handler
// runtime turning one CGI request back into HTTP: method, request-target, Host, the client's
// header fields (from `HTTP_*`, `CONTENT_TYPE`, `CONTENT_LENGTH`), scheme and addresses.
// Pure: the CGI environment in, plain values out.
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { forEachNamed, type EnvValue, type ParamSource } from '../../../cgi/environment.ts';
import type { SocketAddresses } from './memory-socket.ts';

/** The CGI environment as the handler reads it: request values as bytes, the rest as text. */
type Env = Readonly<Record<string, EnvValue | undefined>>;

/** One HTTP request, rebuilt from the CGI meta-variables. */
export interface HttpRequestHead {
  /** `REQUEST_METHOD`. @defaultValue `'GET'` */
  readonly method: string;
  /**
   * The request-target in origin form (`/path?query`), as bytes in a latin1 string, with
   * controls and spaces percent-encoded: `REQUEST_URI`, else `SCRIPT_NAME` + `PATH_INFO` +
   * `?QUERY_STRING`.
   */
  readonly target: string;
  /** `http` or `https` (`REQUEST_SCHEME`, else `HTTPS=on`). */
  readonly scheme: 'http' | 'https';
  /** `HTTP_HOST`, else `SERVER_NAME` with a non-default `SERVER_PORT`, else `localhost`. */
  readonly host: string;
  /**
   * Header fields, lowercase names, values as bytes in latin1 strings (what Node's own parser
   * gives), without `Host` and without the hop-by-hop fields.
   */
  readonly headers: readonly (readonly [string, string])[];
  /** `CONTENT_LENGTH` in bytes when a body is attached, else `undefined`. @see RFC 3875 §4.1.2 */
  readonly contentLength: number | undefined;
  /** The client's and the server's addresses, for the server end of the connection. */
  readonly addresses: SocketAddresses;
}

/**
 * Fields a gateway must not forward (RFC 9110 §7.6.1 connection options), those the runtime
 * sets itself, and `Expect` (the web server already answered `100-continue`; Node would write
 * a second interim response).
 */
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'expect',
  'host',
  'content-length',
  'content-type',
]);

/**
 * Rebuilds the HTTP request of a CGI environment. Values the web server sent as bytes become
 * latin1 strings as they are (what Node's HTTP parser gives for the same bytes); text values
 * (the pool's `env`) are written as UTF-8 first.
 * @param environment - the request's complete CGI environment, or its variables read one by
 *   one (`requestVariables`).
 * @see RFC 3875 §4.1 (meta-variables), §4.1.18 (`HTTP_*`)
 */
export function requestHead(environment: Env | ParamSource): HttpRequestHead {
  const source = isParamSource(environment) ? environment : undefined;
  const env = source === undefined
    ? (name: string): string | undefined => wireValue((environment as Env)[name])
    : (name: string): string | undefined => wireValue(source.get(name));
  const scheme = env('REQUEST_SCHEME') === 'https' || env('HTTPS')?.toLowerCase() === 'on' ? 'https' : 'http';
  const headers: [string, string][] = [];
  const visit = (raw: EnvValue | undefined, name: string): void => {
    const value = wireValue(raw);
    const field = name.slice(5).toLowerCase().replaceAll('_', '-');
    if (value !== undefined && !NOT_FORWARDED.has(field)) pushField(headers, field, value);
  };
  if (source !== undefined) forEachNamed(source, 'HTTP_', visit);
  else for (const name in environment) if (name.startsWith('HTTP_')) visit((environment as Env)[name], name);
  const contentType = env('CONTENT_TYPE');
  if (contentType !== undefined) pushField(headers, 'content-type', contentType);
  const method = env('REQUEST_METHOD');
  return {
    method: method === undefined || method === '' ? 'GET' : method,
    target: requestTarget(env),
    scheme,
    host: env('HTTP_HOST') ?? serverHost(env, scheme),
    headers,
    contentLength: parseLength(env('CONTENT_LENGTH')),
    addresses: new RequestAddresses(env, scheme === 'https'),
  };
}

/**
 * The addresses of the connection's server end, read from the request's variables when a handler
 * asks (`req.socket.remoteAddress`, Express's `req.ip`): most never do.
 * @see RFC 3875 §4.1.8 (REMOTE_ADDR), §4.1.15 (SERVER_PORT)
 */
class RequestAddresses implements SocketAddresses {
  readonly #env: (name: string) => string | undefined;
  readonly encrypted: boolean;

  constructor(env: (name: string) => string | undefined, encrypted: boolean) {
    this.#env = env;
    this.encrypted = encrypted;
  }

  /** `REMOTE_ADDR`. */
  get remoteAddress(): string | undefined {
    return this.#env('REMOTE_ADDR');
  }

  /** `REMOTE_PORT`, when it is a number. */
  get remotePort(): number | undefined {
    return parseLength(this.#env('REMOTE_PORT'));
  }

  /** `SERVER_ADDR`. */
  get localAddress(): string | undefined {
    return this.#env('SERVER_ADDR');
  }

  /** `SERVER_PORT`, when it is a number. */
  get localPort(): number | undefined {
    return parseLength(this.#env('SERVER_PORT'));
  }
}

/** A `ParamSource` (`requestVariables`), not an environment object (whose values are never functions). */
function isParamSource(value: Env | ParamSource): value is ParamSource {
  return typeof value.get === 'function' && typeof value.forEach === 'function';
}

/**
 * A value as the bytes HTTP carries, in a latin1 string (one character per byte): bytes as they
 * are, text as its UTF-8 bytes. Only the values the request head reads are converted.
 */
function wireValue(value: EnvValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? wire(value) : value.toString('latin1');
}

/** The absolute URL of the request (`scheme://host/target`), for a fetch `Request`. */
export function requestUrl(head: HttpRequestHead): string {
  // Concatenated, not resolved: a target `//other/x` is a path here, not another host.
  return new URL(`${head.scheme}://${head.host}${head.target}`).href;
}

/** The request-target: `REQUEST_URI`, else rebuilt from its parts; absolute form reduced. */
function requestTarget(env: (name: string) => string | undefined): string {
  let target = env('REQUEST_URI');
  if (target === undefined || target === '') {
    const queryString = env('QUERY_STRING');
    const query = queryString === undefined || queryString === '' ? '' : `?${queryString}`;
    target = `${env('SCRIPT_NAME') ?? ''}${env('PATH_INFO') ?? ''}${query}`;
  }
  if (!target.startsWith('/')) {
    // Absolute form (`http://host/path`) or garbage: keep only the path and query.
    const url = parseUrl(target);
    target = url === undefined ? '/' : `${url.pathname}${url.search}`;
  }
  return target.replace(
    UNSENDABLE_IN_TARGET,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`,
  );
}

/** Controls and space: Node refuses them in a request-target; percent-encoded instead. */
// eslint-disable-next-line no-control-regex -- these bytes are exactly what is matched
const UNSENDABLE_IN_TARGET = /[\x00-\x20]/g;

/** `new URL(text)` without the throw (`URL.parse` is Node ≥ 22). */
function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function serverHost(env: (name: string) => string | undefined, scheme: 'http' | 'https'): string {
  const serverName = env('SERVER_NAME');
  const name = serverName === undefined || serverName === '' ? 'localhost' : serverName;
  const port = env('SERVER_PORT');
  const defaultPort = scheme === 'https' ? '443' : '80';
  return port === undefined || port === '' || port === defaultPort ? name : `${name}:${port}`;
}

/** Adds a field unless Node would refuse to send it (not a token, or CR/LF/NUL in the value). */
function pushField(headers: [string, string][], name: string, value: string): void {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
  } catch {
    return;
  }
  headers.push([name, value]);
}

/** A non-negative integer, else `undefined` (RFC 3875 §4.1.2: digits only). */
function parseLength(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/**
 * Text as the UTF-8 bytes HTTP carries, in a latin1 string (Node's parser hands header values and
 * request-targets out as latin1).
 */
function wire(text: string): string {
  // eslint-disable-next-line no-control-regex -- every code unit above 0x7f, not controls
  return /[^\x00-\x7f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}
