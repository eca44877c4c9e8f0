// This file implements the worker's side of a runtime run from the perspective of the handler
// runtime's unit tests: a RuntimeRequest built from a CGI environment and a body, its stdout
// and stderr collected, and the CGI reply parsed back into status, fields and body.
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CgiHeadParser, encodeCgiHead, type CgiHead } from '../../../cgi/response.ts';
import type { RuntimeRequest } from '../types.ts';

/** Absolute path of a module in test/fixtures/handlers/. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../../../test/fixtures/handlers/${name}`, import.meta.url));
}

/** The CGI variables nginx's `fastcgi_params` gives a request to `target`. */
export function nginxEnv(
  method: string,
  target: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const query = target.includes('?') ? target.slice(target.indexOf('?') + 1) : '';
  return {
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: method,
    REQUEST_URI: target,
    QUERY_STRING: query,
    SCRIPT_NAME: target.split('?')[0] ?? '',
    SCRIPT_FILENAME: `/srv/app${target.split('?')[0] ?? ''}`,
    DOCUMENT_ROOT: '/srv/app',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_SCHEME: 'http',
    SERVER_NAME: 'localhost',
    SERVER_PORT: '80',
    SERVER_ADDR: '127.0.0.1',
    REMOTE_ADDR: '203.0.113.7',
    REMOTE_PORT: '54321',
    HTTP_HOST: 'example.test',
    HTTP_USER_AGENT: 'vitest',
    ...extra,
  };
}

/** One run's request and what came out of it. */
export interface TestRun {
  readonly req: RuntimeRequest;
  /** Aborts `req.signal`. */
  readonly controller: AbortController;
  /** Lines given to `onStderrLine`. */
  readonly stderr: string[];
  /** Heads handed over structured (`respond`), in order; each is also written into the output. */
  readonly heads: CgiHead[];
  /** Everything written to `stdout` so far. */
  output(): Buffer;
}

/** Options of {@link testRun}. */
export interface TestRunOptions {
  /** Milliseconds each stdout write takes (with a 16 KiB buffer): a slow client. @defaultValue 0 */
  readonly writeDelayMs?: number;
}

/**
 * A request to run: `body` (if any) streams as stdin and sets `CONTENT_LENGTH` unless `env`
 * has one.
 */
export function testRun(
  env: Record<string, string>,
  body?: Buffer | string | Readable,
  options: TestRunOptions = {},
): TestRun {
  const controller = new AbortController();
  const stderr: string[] = [];
  const heads: CgiHead[] = [];
  const chunks: Buffer[] = [];
  const delay = options.writeDelayMs ?? 0;
  const stdout = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      if (delay > 0) setTimeout(callback, delay);
      else callback();
    },
  });
  let stdin: Readable;
  const fullEnv = { ...env };
  if (body instanceof Readable) stdin = body;
  else {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    stdin = Readable.from(bytes === undefined ? [] : [bytes]);
    if (bytes !== undefined && !('CONTENT_LENGTH' in fullEnv)) fullEnv.CONTENT_LENGTH = String(bytes.length);
  }
  const req: RuntimeRequest = {
    scriptFilename: fullEnv.SCRIPT_FILENAME ?? '/srv/app/index',
    cwd: '/srv/app',
    env: fullEnv,
    stdin,
    stdout,
    onStderrLine: (line) => stderr.push(line),
    signal: controller.signal,
    // As the worker's CgiOutput does: the structured head is encoded once, ahead of the body.
    respond: (head) => {
      const bytes = encodeCgiHead(head);
      heads.push(head);
      stdout.write(bytes);
    },
  };
  return { req, controller, stderr, heads, output: () => Buffer.concat(chunks) };
}

/** A CGI reply, parsed. */
export interface Reply extends CgiHead {
  readonly body: Buffer;
  readonly text: string;
}

/** Parses a complete CGI reply (as a web server would). */
export function parseReply(bytes: Buffer): Reply {
  const parser = new CgiHeadParser();
  const head = parser.push(bytes);
  if (head === undefined)
    throw new Error(`no complete CGI head in ${JSON.stringify(bytes.toString('latin1'))}`);
  return { ...head, body: parser.rest, text: parser.rest.toString('utf8') };
}

/** Every value of field `name` (case-insensitive), in order. */
export function fieldValues(reply: CgiHead, name: string): string[] {
  return reply.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}
