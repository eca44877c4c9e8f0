// This file implements the CGI side of a handler's answer from the perspective of the handler
// runtime: an HTTP status and header fields become a CGI head (`Status:` first, hop-by-hop
// fields dropped), and a failed handler becomes a 500 page plus its stack on stderr.
import { inspect } from 'node:util';
import { errorPage } from '../../../cgi/error-page.ts';
import { encodeCgiHead, reasonPhrase } from '../../../cgi/response.ts';
import { runAborted, type RuntimeRequest, type RuntimeResult } from '../types.ts';

/**
 * Fields that describe one HTTP connection, not the response (RFC 9110 §7.6.1): the web
 * server frames the body to its client itself.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/** A run that ended normally. */
export const SUCCEEDED: RuntimeResult = Object.freeze({ exitCode: 0, signal: null });
/** A run whose handler failed (threw, rejected, answered nonsense, cut its response short). */
export const FAILED: RuntimeResult = Object.freeze({ exitCode: 1, signal: null });
/** A run stopped by `signal` (timeout or client abort). */
export const ABORTED: RuntimeResult = Object.freeze({ exitCode: null, signal: null });

/**
 * Hands over the CGI head of a handler's response, structured (`req.respond`: encoded once by
 * the worker, never parsed back), or written into `req.stdout` for a caller without `respond`.
 * @param status - the HTTP status, 200–599.
 * @param reason - the reason phrase; `''` means the standard one.
 * @param fields - header fields as name and latin1 value, repeats kept (two `Set-Cookie`).
 * @throws TypeError when a field cannot be written as CGI (see `encodeCgiHead`), CgiError
 *   `ERR_CGI_BAD_HEADERS` for a status outside 200–599; nothing is written then.
 * @see RFC 3875 §6.3.3 (Status)
 */
export function writeHead(
  req: RuntimeRequest,
  status: number,
  reason: string,
  fields: Iterable<readonly [string, string]>,
): void {
  const headers: [string, string][] = [];
  for (const [name, value] of fields) {
    if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push([name, value]);
  }
  const head = { status, reason: reason === '' ? reasonPhrase(status) : reason, headers };
  if (req.respond !== undefined) req.respond(head);
  else req.stdout.write(encodeCgiHead(head));
}

/**
 * Reports a handler's failure: its stack (and causes) one line at a time to
 * `req.onStderrLine`, as a CGI script's traceback would reach the log.
 * @param what - what went wrong, for the first line (`'fetch() threw'`).
 */
export function reportFailure(req: RuntimeRequest, what: string, err: unknown): void {
  const text = err instanceof Error ? inspect(err) : `${inspect(err)} (not an Error)`;
  req.onStderrLine(`handler: ${what}: ${text.split('\n', 1)[0] ?? ''}`);
  for (const line of text.split('\n').slice(1)) req.onStderrLine(line);
}

/**
 * Answers a failed request with cgi-fpm's own error page (nothing of the handler's response
 * was written) and reports the cause.
 * @param status - 500 for a handler's fault, 400 for a request it cannot be given.
 */
export function answerFailure(
  req: RuntimeRequest,
  status: 400 | 500,
  what: string,
  err: unknown,
): RuntimeResult {
  reportFailure(req, what, err);
  if (!runAborted(req)) req.stdout.write(errorPage(status));
  return FAILED;
}

/**
 * Resolves with {@link ABORTED} once `signal` aborts, and never otherwise; `dispose` removes the
 * listener (call it when the race is over, or the signal keeps a closure per request).
 */
export function whenAborted(signal: AbortSignal): { promise: Promise<typeof ABORTED>; dispose: () => void } {
  let dispose = (): void => undefined;
  const promise = new Promise<typeof ABORTED>((resolve) => {
    if (signal.aborted) {
      resolve(ABORTED);
      return;
    }
    const onAbort = (): void => {
      resolve(ABORTED);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    dispose = () => {
      signal.removeEventListener('abort', onAbort);
    };
  });
  return { promise, dispose };
}
