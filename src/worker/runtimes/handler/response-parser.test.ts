// This file implements the response parser's tests from the perspective of the handler runtime
// reading back what Node's http.ServerResponse wrote: every framing of RFC 9112 §6.3, fed whole
// and one byte at a time, and the refusals of malformed input.
import { describe, expect, it } from 'vitest';
import { DaemonError, ErrorCode } from '../../../errors.ts';
import { ResponseParser, type ResponseHead } from './response-parser.ts';

interface Seen {
  heads: ResponseHead[];
  body: string;
  ends: number;
  complete: boolean;
}

/** Parses `text` (latin1) pushed in pieces of `step` bytes, then the connection's end. */
function parse(
  text: string,
  options: { step?: number | undefined; noBody?: boolean; maxHeadBytes?: number } = {},
): Seen {
  const seen: Seen = { heads: [], body: '', ends: 0, complete: false };
  const parser = new ResponseParser(
    {
      head: (head) => seen.heads.push(head),
      body: (chunk) => (seen.body += chunk.toString('latin1')),
      end: () => seen.ends++,
    },
    { noBody: options.noBody ?? false, maxHeadBytes: options.maxHeadBytes ?? 65536 },
  );
  const bytes = Buffer.from(text, 'latin1');
  const step = options.step ?? bytes.length;
  for (let i = 0; i < bytes.length; i += step) parser.push(bytes.subarray(i, i + step));
  seen.complete = parser.finish();
  return seen;
}

const both = [undefined, 1];

describe('ResponseParser: framing', () => {
  it.each(both)('reads a Content-Length body (pieces of %s bytes)', (step) => {
    const seen = parse('HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello', { step });
    expect(seen.heads).toEqual([
      { statusCode: 201, statusMessage: 'Created', fields: [['Content-Type', 'text/plain'], ['Content-Length', '5']] },
    ]);
    expect(seen).toMatchObject({ body: 'hello', ends: 1, complete: true });
  });

  it.each(both)('decodes chunked framing with extensions and trailers (pieces of %s bytes)', (step) => {
    const text =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=x\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: 1\r\n\r\n';
    const seen = parse(text, { step });
    expect(seen).toMatchObject({ body: 'hello, world!!!', ends: 1, complete: true });
  });

  it('skips 100 and 103 interim responses and passes on the final one', () => {
    const seen = parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n');
    expect(seen.heads.map((h) => h.statusCode)).toEqual([204]);
    expect(seen).toMatchObject({ body: '', ends: 1, complete: true });
  });

  it('reads no body for HEAD, 204 and 304, whatever the fields say', () => {
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', { noBody: true })).toMatchObject({ body: '', complete: true });
    expect(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello')).toMatchObject({ body: '', complete: true });
  });

  it('reads a body without length up to the end of the connection; keeps a latin1 reason and values', () => {
    const seen = parse('HTTP/1.1 200 Très bien\r\nX-Name: caf\xe9\r\n\r\nall of it', { step: 3 });
    expect(seen.heads[0]).toEqual({ statusCode: 200, statusMessage: 'Très bien', fields: [['X-Name', 'café']] });
    expect(seen).toMatchObject({ body: 'all of it', complete: true });
  });

  it('ignores bytes after a complete response', () => {
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA')).toMatchObject({ body: 'ok', ends: 1 });
  });

  it('tells a response cut short, or none at all, at the end of the connection', () => {
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf')).toMatchObject({ body: 'half', ends: 0, complete: false });
    expect(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel')).toMatchObject({ complete: false });
    expect(parse('HTTP/1.1 200 OK\r\nContent-')).toMatchObject({ heads: [], complete: false });
  });
});

describe('ResponseParser: refusals', () => {
  const refusal = (text: string, detail: RegExp, maxHeadBytes?: number): void => {
    let caught: unknown;
    try {
      parse(text, { ...(maxHeadBytes === undefined ? {} : { maxHeadBytes }) });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DaemonError);
    expect((caught as DaemonError).code).toBe(ErrorCode.ERR_CGI_BAD_HEADERS);
    expect((caught as DaemonError).message).toMatch(detail);
  };

  it('refuses a bad status line, a field line without a colon and a bad Content-Length', () => {
    refusal('HTTP/2 200 OK\r\n\r\n', /^handler: response: bad status line "HTTP\/2 200 OK"$/);
    refusal('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /bad field line "no colon here"/);
    refusal('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /bad Content-Length -1/);
  });

  it('refuses a head over its bound, and a bad chunk size', () => {
    refusal(`HTTP/1.1 200 OK\r\nX: ${'y'.repeat(200)}`, /head over 100 bytes/, 100);
    refusal('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /bad chunk size "zz"/);
    refusal('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX', /chunk not followed by CRLF/);
  });
});
