// This file implements FastCGI name-value pairs (PARAMS, GET_VALUES, GET_VALUES_RESULT) from the
// perspective of a byte stream: pairs may be split anywhere across records (libfcgi splits them
// mid-pair), so the decoder collects the whole stream and decodes it once, with bounds checks.
// node-fastcgi decoded per record and silently corrupted split pairs (audit A-10).

import { ErrorCode, ProtocolError } from '../errors.ts';

const MAX_LENGTH = 0x7fffffff;
const DEFAULT_MAX_BYTES = 1024 * 1024;

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
 * Encode name-value pairs as UTF-8 with 1-byte lengths (< 128) or 4-byte lengths (high bit set).
 * @param pairs - names and values, in order; duplicates are written as given
 * @returns one buffer with every pair, not split into records
 * @see FastCGI spec §3.4
 */
export function encodeNameValuePairs(pairs: Iterable<readonly [string, string]>): Buffer {
  const sized: { name: string; value: string; nameLength: number; valueLength: number }[] = [];
  let total = 0;
  for (const [name, value] of pairs) {
    // No length check needed: a V8 string holds < 2^29 UTF-16 units, at most 3 UTF-8 bytes each,
    // so every length fits the 31 bits of the 4-byte form.
    const nameLength = Buffer.byteLength(name, 'utf8');
    const valueLength = Buffer.byteLength(value, 'utf8');
    sized.push({ name, value, nameLength, valueLength });
    total += lengthSize(nameLength) + lengthSize(valueLength) + nameLength + valueLength;
  }
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const { name, value, nameLength, valueLength } of sized) {
    offset = writeLength(out, offset, nameLength);
    offset = writeLength(out, offset, valueLength);
    offset += out.write(name, offset, nameLength, 'utf8');
    offset += out.write(value, offset, valueLength, 'utf8');
  }
  return out;
}

/**
 * Incremental decoder of one name-value stream (the PARAMS records of one request, or the content
 * of one GET_VALUES record). Push each record's content, then call {@link NameValueDecoder.end}
 * once. Linear in the stream's size: chunks are kept by reference, joined once, decoded once.
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
   * Decode the whole stream. Names and values are UTF-8; a later duplicate of a name wins.
   * @returns the pairs, in stream order of first appearance
   * @throws ProtocolError (`ERR_FCGI_PROTOCOL`) when the stream ends inside a pair
   */
  end(): Map<string, string> {
    const data = Buffer.concat(this.#chunks, this.#bytes);
    this.#chunks = [];
    this.#bytes = 0;
    const pairs = new Map<string, string>();
    let offset = 0;
    while (offset < data.length) {
      const name = readLength(data, offset);
      const value = name === undefined ? undefined : readLength(data, name.next);
      const start = value?.next ?? 0;
      if (name === undefined || value === undefined || start + name.length + value.length > data.length) {
        throw new ProtocolError(
          `fastcgi: truncated name-value pair at byte ${offset} of ${data.length} bytes`,
          this.#requestId,
        );
      }
      const middle = start + name.length;
      offset = middle + value.length;
      pairs.set(data.toString('utf8', start, middle), data.toString('utf8', middle, offset));
    }
    return pairs;
  }
}

function readLength(data: Buffer, offset: number): { length: number; next: number } | undefined {
  const first = data[offset];
  if (first === undefined) return undefined;
  if (first < 0x80) return { length: first, next: offset + 1 };
  if (offset + 4 > data.length) return undefined;
  return { length: data.readUInt32BE(offset) & MAX_LENGTH, next: offset + 4 };
}
