// This file implements the error pages cgi-fpm answers itself (403, 404, 502, 503, 504) from
// the perspective of a web server reading a CGI response: a Status head and a short ASCII page.
import { encodeCgiHead } from './response.ts';
import { reasonPhrase } from './reason-phrase.ts';

/**
 * A complete CGI response the worker or supervisor sends itself: `Status: 502 Bad Gateway`,
 * `Content-Type: text/html`, the extra `headers` (e.g. `Retry-After`), `Content-Length`, and
 * a small ASCII HTML page titled `502 <title>`.
 * @param status - HTTP status, e.g. 502, 503, 504, 403, 404.
 * @param title - words after the status in the page (HTML-escaped), e.g. `Bad Gateway`.
 * @param headers - extra header fields, in order.
 * @throws TypeError for a status outside 100–999 or a header that cannot be sent.
 * @see RFC 3875 §6.3.3 (Status)
 */
export function errorResponse(
  status: number,
  title: string,
  headers: readonly (readonly [string, string])[] = [],
): Buffer {
  const text = `${status} ${escapeHtml(title)}`;
  const body = Buffer.from(
    `<html>\r\n<head><title>${text}</title></head>\r\n<body>\r\n<center><h1>${text}</h1></center>\r\n` +
      '<hr><center>cgi-fpm</center>\r\n</body>\r\n</html>\r\n',
    'latin1',
  );
  return htmlResponse(status, body, headers);
}

/** Escapes markup and every non-ASCII character, so the page is pure ASCII. */
function escapeHtml(text: string): string {
  return text.replace(/[^ -%'-;=?-~]/gu, (char) => `&#${char.codePointAt(0) ?? 0};`);
}

/**
 * {@link errorResponse} titled with the status's standard reason phrase (`502 Bad Gateway`).
 * @param headers - extra header fields, e.g. `[['Retry-After', '5']]`.
 */
export function errorPage(status: number, headers: readonly (readonly [string, string])[] = []): Buffer {
  return errorResponse(status, reasonPhrase(status), headers);
}

/**
 * A complete CGI response with an HTML `body` of the caller's (e.g. the operator's
 * `overload_page`): `Status`, `Content-Type: text/html`, `headers`, `Content-Length`.
 * @throws TypeError for a status outside 100–999 or a header that cannot be sent.
 */
export function htmlResponse(status: number, body: Buffer, headers: readonly (readonly [string, string])[] = []): Buffer {
  return cgiResponse(status, 'text/html', body, headers);
}

/**
 * A complete CGI response with a `body` of type `contentType`: `Status`, `Content-Type`,
 * `headers`, `Content-Length` (the supervisor's status and ping pages).
 * @throws TypeError for a status outside 100–999 or a header that cannot be sent.
 */
export function cgiResponse(
  status: number, contentType: string, body: Buffer, headers: readonly (readonly [string, string])[] = [],
): Buffer {
  const head = encodeCgiHead({
    status,
    reason: reasonPhrase(status),
    headers: [
      ['Content-Type', contentType],
      ...headers.map(([name, value]): [string, string] => [name, value]),
      ['Content-Length', String(body.length)],
    ],
  });
  return Buffer.concat([head, body]);
}
