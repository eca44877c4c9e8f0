// This file implements reading an HTTP/1.1 response from the perspective of the handler runtime,
// which gets back from Node's own `http.ServerResponse` the bytes it wrote for one request on a
// `Connection: close` connection: the status line and header fields of the final response
// (1xx interim responses skipped), then the body as framed by RFC 9112 §6.3 — none for HEAD,
// 1xx, 204 and 304; chunked; `Content-Length`; or up to the end of the connection.
import { DaemonError, ErrorCode } from '../../../errors.ts';

/** The final response's head. */
export interface ResponseHead {
  /** The status code, 100–999 as the status line has it. */
  readonly statusCode: number;
  /** The reason phrase, possibly empty. */
  readonly statusMessage: string;
  /** Header fields in order, names as sent, values as latin1 strings; repeats kept. */
  readonly fields: readonly (readonly [string, string])[];
}

/** Where a {@link ResponseParser} delivers what it read. */
export interface ResponseEvents {
  /** The final head (once). */
  head(head: ResponseHead): void;
  /** A piece of the decoded body (chunked framing removed). */
  body(chunk: Buffer): void;
  /** The body is complete (once); bytes after it are ignored. */
  end(): void;
}

type State = 'head' | 'length' | 'size' | 'data' | 'data-end' | 'trailers' | 'eof' | 'done';

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const NOTHING = Buffer.alloc(0);

/**
 * Incremental parser of one HTTP/1.1 response. Feed it with {@link ResponseParser.push} and tell
 * it the connection ended with {@link ResponseParser.finish}.
 * @see RFC 9112 §4 (status line), §5 (fields), §6.3 (message body length), §7.1 (chunked)
 */
export class ResponseParser {
  readonly #events: ResponseEvents;
  readonly #noBody: boolean;
  readonly #maxHeadBytes: number;
  #state: State = 'head';
  #pending: Buffer = NOTHING;
  #remaining = 0;

  /**
   * @param events - receives the head, the body and the end
   * @param options.noBody - the request was HEAD: a response has no body whatever it says
   * @param options.maxHeadBytes - largest response head accepted, in bytes
   */
  constructor(events: ResponseEvents, options: { noBody: boolean; maxHeadBytes: number }) {
    this.#events = events;
    this.#noBody = options.noBody;
    this.#maxHeadBytes = options.maxHeadBytes;
  }

  /** True once the final head was read. */
  get headRead(): boolean {
    return this.#state !== 'head';
  }

  /** True once the body is complete. */
  get complete(): boolean {
    return this.#state === 'done';
  }

  /**
   * Reads the next bytes of the connection.
   * @throws DaemonError `ERR_CGI_BAD_HEADERS` for a malformed or too large head, or bad chunking
   */
  push(chunk: Buffer): void {
    let data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = NOTHING;
    while (data.length > 0 && this.#state !== 'done') {
      const used = this.#step(data);
      if (used < 0) {
        this.#pending = data;
        return;
      }
      data = data.subarray(used);
    }
  }

  /**
   * The connection ended: a body delimited by the end is complete now.
   * @returns whether the response was complete (false: cut short, or no head at all)
   */
  finish(): boolean {
    if (this.#state === 'eof') this.#done();
    return this.#state === 'done';
  }

  /** Consumes a prefix of `data`; returns its length, or -1 when more bytes are needed. */
  #step(data: Buffer): number {
    switch (this.#state) {
      case 'head':
        return this.#head(data);
      case 'length':
      case 'data': {
        const piece = data.subarray(0, this.#remaining);
        this.#remaining -= piece.length;
        this.#events.body(piece);
        if (this.#remaining === 0) {
          if (this.#state === 'length') this.#done();
          else this.#state = 'data-end';
        }
        return piece.length;
      }
      case 'eof':
        this.#events.body(data);
        return data.length;
      case 'size':
        return this.#chunkSize(data);
      case 'data-end':
        if (data.length < 2) return -1;
        if (data[0] !== 0x0d || data[1] !== 0x0a) throw badResponse('chunk not followed by CRLF');
        this.#state = 'size';
        return 2;
      case 'trailers':
        return this.#trailer(data);
      case 'done':
        return data.length;
    }
  }

  #head(data: Buffer): number {
    const end = data.indexOf(HEAD_END);
    if (end < 0) {
      if (data.length > this.#maxHeadBytes) throw badResponse(`head over ${this.#maxHeadBytes} bytes`);
      return -1;
    }
    // One string, its lines walked in place (no array of lines): this runs on every response.
    const text = data.toString('latin1', 0, end);
    let lineEnd = text.indexOf('\r\n');
    if (lineEnd < 0) lineEnd = text.length;
    const statusLine = text.slice(0, lineEnd);
    const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
    if (status === null) throw badResponse(`bad status line ${JSON.stringify(statusLine)}`);
    const statusCode = Number(status[1]);
    const fields: [string, string][] = [];
    let contentLength: number | undefined;
    let chunked = false;
    for (let start = lineEnd + 2; start <= text.length; start = lineEnd + 2) {
      lineEnd = text.indexOf('\r\n', start);
      if (lineEnd < 0) lineEnd = text.length;
      const colon = text.indexOf(':', start);
      if (colon <= start || colon >= lineEnd) throw badResponse(`bad field line ${JSON.stringify(text.slice(start, lineEnd))}`);
      const name = text.slice(start, colon);
      const value = text.slice(colon + 1, lineEnd).trim();
      fields.push([name, value]);
      // Compared only when the length fits (most names are neither).
      if (name.length === 14 && name.toLowerCase() === 'content-length') contentLength = Number(value);
      else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
    }
    // Interim responses (100 Continue, 103 Early Hints) precede the final one.
    if (statusCode >= 100 && statusCode < 200 && statusCode !== 101) return end + 4;
    this.#events.head({ statusCode, statusMessage: status[2] ?? '', fields });
    if (this.#noBody || statusCode === 204 || statusCode === 304 || statusCode < 200) this.#done();
    else if (chunked) this.#state = 'size';
    else if (contentLength === undefined) this.#state = 'eof';
    else if (!Number.isSafeInteger(contentLength) || contentLength < 0)
      throw badResponse(`bad Content-Length ${JSON.stringify(contentLength)}`);
    else if (contentLength === 0) this.#done();
    else {
      this.#state = 'length';
      this.#remaining = contentLength;
    }
    return end + 4;
  }

  #chunkSize(data: Buffer): number {
    const end = data.indexOf(CRLF);
    if (end < 0) {
      if (data.length > 1024) throw badResponse('chunk size line over 1024 bytes');
      return -1;
    }
    const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(data.toString('latin1', 0, end));
    if (size === null) throw badResponse(`bad chunk size ${JSON.stringify(data.toString('latin1', 0, end))}`);
    this.#remaining = Number.parseInt(size[1] ?? '', 16);
    this.#state = this.#remaining === 0 ? 'trailers' : 'data';
    return end + 2;
  }

  /** One trailer line (dropped: CGI has no trailers); the empty one ends the message. */
  #trailer(data: Buffer): number {
    const end = data.indexOf(CRLF);
    if (end < 0) {
      if (data.length > this.#maxHeadBytes) throw badResponse(`trailers over ${this.#maxHeadBytes} bytes`);
      return -1;
    }
    if (end === 0) this.#done();
    return end + 2;
  }

  #done(): void {
    this.#state = 'done';
    this.#events.end();
  }
}

function badResponse(detail: string): DaemonError {
  return new DaemonError(ErrorCode.ERR_CGI_BAD_HEADERS, `handler: response: ${detail}`);
}
