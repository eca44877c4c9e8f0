// This file implements the CGI response head from the perspective of the gateway reading a
// script's stdout: find the end of the header block in a byte stream split anywhere, hand
// the body bytes on untouched, and write the normalized head a web server reads.
import { CgiError, ErrorCode } from '../errors.ts';
import { isLocalLocation, parseHeadLines, type CgiHead } from './head-lines.ts';

export type { CgiHead } from './head-lines.ts';
export { reasonPhrase } from './reason-phrase.ts';

/** Default bound of a header block, in bytes (nginx's `fastcgi_buffer_size` is 4–8 KiB). */
export const DEFAULT_MAX_HEAD_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
/** Scanner states: inside a line, at the start of a line, after a CR at the start of a line. */
const IN_LINE = 0;
const LINE_START = 1;
const LINE_START_CR = 2;
const EMPTY = Buffer.alloc(0);

/**
 * Incremental parser of a CGI response head. Push stdout chunks as they come; the head ends at
 * the first empty line (LF or CRLF, mixed as scripts write them). The body is never decoded or
 * copied: {@link CgiHeadParser.rest} is a slice of the last chunk.
 * @example
 * ```ts
 * const parser = new CgiHeadParser();
 * const head = parser.push(chunk); // undefined until the blank line arrives
 * if (head) send(encodeCgiHead(head), parser.rest);
 * ```
 * @see RFC 3875 §6 (CGI response), §7.2 (NL is LF; servers also accept CR LF)
 */
export class CgiHeadParser {
  readonly #maxBytes: number;
  readonly #scriptFilename: string;
  #chunks: Buffer[] = [];
  #length = 0;
  #state = LINE_START;
  #rest: Buffer = EMPTY;
  #head: CgiHead | undefined;

  /**
   * @param maxBytes - largest header block accepted, blank line included, in bytes.
   *   @defaultValue `65536` ({@link DEFAULT_MAX_HEAD_BYTES})
   * @param scriptFilename - the script, named in errors. @defaultValue `''`
   */
  constructor(maxBytes = DEFAULT_MAX_HEAD_BYTES, scriptFilename = '') {
    this.#maxBytes = maxBytes;
    this.#scriptFilename = scriptFilename;
  }

  /**
   * Feeds the next stdout chunk.
   * @returns the head once its end is in `chunk`, else `undefined`.
   * @throws CgiError `ERR_CGI_NO_HEADERS` when the head grows past `maxBytes`;
   *   CgiError `ERR_CGI_BAD_HEADERS` for a malformed header line (see `parseHeadLines`);
   *   TypeError when called after the head was returned.
   */
  push(chunk: Buffer): CgiHead | undefined {
    if (this.#head !== undefined) throw new TypeError('cgi: head parser: push after the head was complete');
    const end = this.#scan(chunk);
    const headBytes = this.#length + (end === -1 ? chunk.length : end);
    if (headBytes > this.#maxBytes) {
      throw new CgiError(
        ErrorCode.ERR_CGI_NO_HEADERS,
        `cgi: no cgi headers: header block exceeds ${this.#maxBytes} bytes`,
        { scriptFilename: this.#scriptFilename },
      );
    }
    if (end === -1) {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
      return undefined;
    }
    this.#chunks.push(chunk.subarray(0, end));
    this.#rest = chunk.subarray(end);
    const lines = Buffer.concat(this.#chunks).toString('latin1').split('\n');
    this.#chunks = [];
    // Drop what follows the last LF ('') and the blank line itself ('' or '\r').
    lines.length -= 2;
    this.#head = parseHeadLines(lines, this.#scriptFilename);
    return this.#head;
  }

  /** The body bytes that followed the head in the last chunk pushed; empty before the head. */
  get rest(): Buffer {
    return this.#rest;
  }

  /** The head once complete, else `undefined`. */
  get head(): CgiHead | undefined {
    return this.#head;
  }

  /** Bytes of an incomplete head held so far. */
  get buffered(): number {
    return this.#length;
  }

  /** The index just past the blank line in `chunk`, or -1; O(chunk) with state across chunks. */
  #scan(chunk: Buffer): number {
    let state = this.#state;
    let i = 0;
    while (i < chunk.length) {
      if (state === IN_LINE) {
        const lf = chunk.indexOf(LF, i);
        if (lf === -1) break;
        state = LINE_START;
        i = lf + 1;
        continue;
      }
      const byte = chunk[i];
      if (byte === LF) return i + 1;
      state = state === LINE_START && byte === CR ? LINE_START_CR : IN_LINE;
      i++;
    }
    this.#state = state;
    return -1;
  }
}

/** Bytes a header field value may hold on the wire (latin1: HTAB, SP–~, obs-text). */
const WIRE_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const WIRE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The normalized head a web server reads: `Status: 302 Found\r\n`, each field as
 * `Name: value\r\n` in order, then `\r\n`, in latin1. A local redirect (status 200 with a
 * `Location: /path`) is written without a `Status` line, as the script wrote it, so the web
 * server applies its own rule (Apache redirects internally, nginx answers 302).
 * @throws TypeError for a field name that is not a token or a value with CR, LF, NUL or a
 *   character above U+00FF (response splitting), or a status outside 100–999.
 * @see RFC 3875 §6.2.2 (local redirect), §6.3.3 (Status)
 */
export function encodeCgiHead(head: CgiHead): Buffer {
  if (!Number.isInteger(head.status) || head.status < 100 || head.status > 999) {
    throw new TypeError(`cgi: encode head: bad status ${head.status}`);
  }
  if (!WIRE_VALUE.test(head.reason))
    throw new TypeError(`cgi: encode head: bad reason ${JSON.stringify(head.reason)}`);
  const reason = head.reason === '' ? '' : ` ${head.reason}`;
  let text = isLocalRedirect(head) ? '' : `Status: ${head.status}${reason}\r\n`;
  for (const [name, value] of head.headers) {
    if (!WIRE_NAME.test(name) || !WIRE_VALUE.test(value)) {
      throw new TypeError(`cgi: encode head: bad field ${JSON.stringify(`${name}: ${value}`)}`);
    }
    text += `${name}: ${value}\r\n`;
  }
  return Buffer.from(`${text}\r\n`, 'latin1');
}

function isLocalRedirect(head: CgiHead): boolean {
  if (head.status !== 200) return false;
  const location = head.headers.find(([name]) => name.toLowerCase() === 'location');
  return location !== undefined && isLocalLocation(location[1]);
}
