// This file implements the answers the supervisor gives by itself (404, 403, 502, 503, 504),
// from the perspective of a web server reading FastCGI: a CGI response on FCGI_STDOUT, then
// END_REQUEST. nginx ignores END_REQUEST's protocol status, so overload is a `Status: 503`
// page, never FCGI_OVERLOADED (DESIGN.md, "FastCGI").
import { ProtocolStatus, RecordType } from '../fastcgi/constants.ts';
import { encodeEndRequest, encodeStream, encodeStreamEnd } from '../fastcgi/writer.ts';
import { reasonPhrase } from '../cgi/response.ts';

/**
 * A complete CGI response (head and a short HTML body) for a status the daemon generates.
 * @param status - HTTP status, e.g. 503.
 * @param headers - extra header lines, e.g. `[['Retry-After', '5']]`.
 * @see RFC 3875 §6.3.3 (Status header field)
 */
export function cgiErrorPage(status: number, headers: readonly (readonly [string, string])[] = []): Buffer {
  const reason = reasonPhrase(status);
  const body = `<!DOCTYPE html>\n<html><head><title>${status} ${reason}</title></head>` +
    `<body><h1>${status} ${reason}</h1><hr><p>cgi-fpm</p></body></html>\n`;
  let head = `Status: ${status} ${reason}\r\nContent-Type: text/html; charset=utf-8\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return Buffer.from(head + body, 'latin1');
}

/**
 * The FastCGI records for a whole response: FCGI_STDOUT records carrying `page`, the empty
 * FCGI_STDOUT record and FCGI_END_REQUEST (`FCGI_REQUEST_COMPLETE`), as one buffer list.
 * @see FastCGI spec §5.3 (FCGI_STDOUT), §5.5 (FCGI_END_REQUEST)
 */
export function fastcgiResponse(requestId: number, page: Buffer, appStatus = 0): Buffer[] {
  return [
    ...encodeStream(RecordType.FCGI_STDOUT, requestId, page),
    encodeStreamEnd(RecordType.FCGI_STDOUT, requestId),
    encodeEndRequest(requestId, appStatus, ProtocolStatus.FCGI_REQUEST_COMPLETE),
  ];
}
