// This file implements reading a CGI response from the perspective of a raw FastCGI client:
// the daemon's FCGI_STDOUT carries a CGI head (`Status:`, headers, blank line) then the body,
// which nginx would normally turn into an HTTP response (RFC 3875 §6).

/** A CGI response split into status, header lines and body. */
export interface CgiResponse {
  /** From `Status:` (200 when absent). */
  readonly status: number;
  /** Header lines other than `Status`, in order, names as sent. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

/**
 * Splits FCGI_STDOUT bytes at the first blank line (CRLF or LF) and reads the header lines.
 *
 * @throws Error when there is no blank line (no complete head)
 */
export function parseCgiResponse(stdout: Buffer): CgiResponse {
  const crlf = stdout.indexOf('\r\n\r\n');
  const lf = stdout.indexOf('\n\n');
  let headEnd: number;
  let bodyStart: number;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) {
    headEnd = crlf;
    bodyStart = crlf + 4;
  } else if (lf !== -1) {
    headEnd = lf;
    bodyStart = lf + 2;
  } else {
    throw new Error(`cgi: no end of head in ${JSON.stringify(stdout.subarray(0, 200).toString('latin1'))}`);
  }
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of stdout.subarray(0, headEnd).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
    else headers.push([name, value]);
  }
  return { status, headers, body: stdout.subarray(bodyStart) };
}
