// This file implements the framing of the answers the supervisor gives by itself (404, 403,
// 502, 503, 504; pages from cgi/error-page.ts),
// from the perspective of a web server reading FastCGI: a CGI response on FCGI_STDOUT, then
// END_REQUEST. nginx ignores END_REQUEST's protocol status, so overload is a `Status: 503`
// page, never FCGI_OVERLOADED (DESIGN.md, "FastCGI").
import { ProtocolStatus, RecordType } from '../../fastcgi/constants.ts';
import { encodeEndRequest, encodeStream, encodeStreamEnd } from '../../fastcgi/writer.ts';

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
