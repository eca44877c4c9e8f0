// This file implements reading the HTTP status of a worker's answer from the perspective of the
// relay, which forwards the worker's records without parsing them: the worker normalizes every
// CGI head (cgi/response.ts `encodeCgiHead`) so that a `Status: NNN` line comes first, and the
// supervisor reads those three digits from the first FCGI_STDOUT record, O(1).

const STATUS_PREFIX = Buffer.from('Status: ', 'latin1');
const LOCATION_PREFIX = Buffer.from('Location:', 'latin1');

/**
 * The status of a CGI head that starts `first` (the first FCGI_STDOUT content of a response):
 * the digits of a leading `Status: NNN` line, 302 for a head starting with `Location:` (a local
 * redirect, which `encodeCgiHead` writes without a Status line), else 200 (RFC 3875 §6.3.3).
 * @see RFC 3875 §6.2.3, §6.3.3
 */
export function cgiHeadStatus(first: Buffer): number {
  if (first.length >= STATUS_PREFIX.length + 3 && startsWith(first, STATUS_PREFIX)) {
    const at = STATUS_PREFIX.length;
    let status = 0;
    for (let i = at; i < at + 3; i++) {
      const digit = (first[i] ?? 0) - 0x30;
      if (digit < 0 || digit > 9) return 200;
      status = status * 10 + digit;
    }
    return status;
  }
  if (startsWith(first, LOCATION_PREFIX)) return 302;
  return 200;
}

/** `buffer` begins with `prefix` (compared in place: no slice per request). */
function startsWith(buffer: Buffer, prefix: Buffer): boolean {
  return buffer.length >= prefix.length && buffer.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
