// This file implements FastCGI name-value pairs (PARAMS, GET_VALUES, GET_VALUES_RESULT) from the
// perspective of a byte stream: pairs may be split anywhere across records (libfcgi splits them
// mid-pair), so the decoder collects the whole stream and indexes it once, with bounds checks,
// keeping the bytes (name-value-pairs.ts). node-fastcgi decoded per record and silently
// corrupted split pairs (audit A-10).

import { ErrorCode, ProtocolError } from '../errors.ts';
import { NameValuePairs } from './name-value-pairs.ts';

export { NameValuePairs } from './name-value-pairs.ts';

/**
 * The bound on one request's params stream, in bytes, at both ends of the relay: what the
 * supervisor takes from a web server, and what a worker takes from the supervisor (the web
 * server's params plus the supervisor's own additions must fit). nginx's and Apache's params
 * are far smaller (their request head buffers are 8–32 KiB by default).
 */
export const DEFAULT_MAX_PARAMS_BYTES = 1024 * 1024;

const DEFAULT_MAX_BYTES = DEFAULT_MAX_PARAMS_BYTES;

/** Largest length the 4-byte form carries (31 bits). */
const MAX_LENGTH = 0x7fffffff;

function lengthSize(length: number): number {
  return length < 0x80 ? 1 : 4;
}

function writeLength(out: Buffer, offset: number, length: number): number {
  if (length < 0x80) {
    out[offset] = length;
    return offset + 1;
  }
  out.writeUInt32BE((length | 0x80000000) >>> 0, offset);
  return offset + 4;
}

/**
 * Encode name-value pairs with 1-byte lengths (< 128) or 4-byte lengths (high bit set). A
 * string is written as UTF-8; a `Buffer` value as the bytes it holds (a path or a param
 * relayed as received).
 * @param pairs - names and values, in order; duplicates are written as given
 * @returns one buffer with every pair, not split into records
 * @throws RangeError when a `Buffer` value is longer than 2^31-1 bytes
 * @see FastCGI spec §3.4
 */
export function encodeNameValuePairs(pairs: Iterable<readonly [string, string | Buffer]>): Buffer {
  const sized: { name: string; value: string | Buffer; nameLength: number; valueLength: number }[] = [];
  let total = 0;
  for (const [name, value] of pairs) {
    // A V8 string holds < 2^29 UTF-16 units, at most 3 UTF-8 bytes each, so a string's length
    // fits the 31 bits of the 4-byte form; a Buffer's is checked.
    const nameLength = Buffer.byteLength(name, 'utf8');
    const valueLength = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
    if (valueLength > MAX_LENGTH) throw new RangeError(`fastcgi: value of ${name} too long: ${valueLength} bytes`);
    sized.push({ name, value, nameLength, valueLength });
    total += lengthSize(nameLength) + lengthSize(valueLength) + nameLength + valueLength;
  }
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const { name, value, nameLength, valueLength } of sized) {
    offset = writeLength(out, offset, nameLength);
    offset = writeLength(out, offset, valueLength);
    offset += out.write(name, offset, nameLength, 'utf8');
    offset += typeof value === 'string' ? out.write(value, offset, valueLength, 'utf8') : value.copy(out, offset);
  }
  return out;
}

/**
 * Incremental decoder of one name-value stream (the PARAMS records of one request, or the content
 * of one GET_VALUES record). Push each record's content, then call {@link NameValueDecoder.finish}
 * (bytes) or {@link NameValueDecoder.end} (text) once. Linear in the stream's size: chunks are
 * kept by reference, joined once, indexed once.
 * @see FastCGI spec §3.4, §5.2
 */
export class NameValueDecoder {
  readonly #maxBytes: number;
  readonly #requestId: number;
  #chunks: Buffer[] = [];
  #bytes = 0;

  /**
   * @param maxBytes - bound on the whole stream, in bytes
   * @param requestId - the request the stream belongs to, carried by errors
   * @defaultValue maxBytes: 1 MiB (1048576); requestId: 0
   * @throws TypeError when `maxBytes` is not a non-negative integer
   */
  constructor(maxBytes = DEFAULT_MAX_BYTES, requestId = 0) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new TypeError(`fastcgi: maxBytes must be a non-negative integer, got ${maxBytes}`);
    }
    this.#maxBytes = maxBytes;
    this.#requestId = requestId;
  }

  /**
   * Add the next bytes of the stream (any split, including mid-pair or mid-length).
   * @param chunk - the next bytes; kept by reference until {@link NameValueDecoder.end}
   * @throws ProtocolError (`ERR_FCGI_PARAMS_TOO_LARGE`) when the stream passes `maxBytes`
   */
  push(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.#maxBytes) {
      throw new ProtocolError(
        `fastcgi: params too large: more than ${this.#maxBytes} bytes`,
        this.#requestId,
        ErrorCode.ERR_FCGI_PARAMS_TOO_LARGE,
      );
    }
    if (chunk.length > 0) this.#chunks.push(chunk);
  }

  /**
   * Index the whole stream, keeping its bytes: the chunks are copied once into one buffer (about
   * a kilobyte), so a request that waits, queued or running, holds its params and not the
   * socket reads they came in.
   * @returns the pairs, in stream order, duplicates included
   * @throws ProtocolError (`ERR_FCGI_PROTOCOL`) when the stream ends inside a pair
   */
  finish(): NameValuePairs {
    const data = Buffer.concat(this.#chunks, this.#bytes);
    this.#chunks = [];
    this.#bytes = 0;
    return NameValuePairs.decode(data, this.#requestId);
  }

  /**
   * Decode the whole stream as text. Names and values are UTF-8; a later duplicate of a name
   * wins. For streams whose content is text (`FCGI_GET_VALUES` names); a request's params
   * are read as bytes with {@link NameValueDecoder.finish}.
   * @returns the pairs, in stream order of first appearance
   * @throws ProtocolError (`ERR_FCGI_PROTOCOL`) when the stream ends inside a pair
   */
  end(): Map<string, string> {
    return this.finish().toMap();
  }
}
