// This file implements a decoded name-value stream (a request's PARAMS) from the perspective of
// the code that reads it: the bytes stay as the web server sent them, in one buffer, with the
// offsets of each pair; a value is a zero-copy slice, and nothing is decoded as text unless a
// caller asks for text (`toMap`). Routing reads three names; the worker reads them all.

import { ProtocolError } from '../errors.ts';

const MAX_LENGTH = 0x7fffffff;

/**
 * The name-value pairs of one stream, in stream order, duplicates included, as bytes.
 * Names are compared byte for byte with ASCII names (CGI meta-variable names are tokens,
 * RFC 3875 §4.1); values are never decoded here.
 * @see FastCGI spec §3.4 (name-value pairs), §5.2 (FCGI_PARAMS)
 */
export class NameValuePairs {
  /** The whole stream, as received (every PARAMS content, joined). */
  readonly bytes: Buffer;
  /** Per pair: start of the name, start of the value (end of the name), end of the value. */
  readonly #offsets: number[];

  private constructor(bytes: Buffer, offsets: number[]) {
    this.bytes = bytes;
    this.#offsets = offsets;
  }

  /**
   * Indexes a whole stream (one pass, no copies).
   * @param bytes - the stream; kept by reference
   * @param requestId - the request it belongs to, carried by errors
   * @defaultValue requestId: 0
   * @throws ProtocolError (`ERR_FCGI_PROTOCOL`) when the stream ends inside a pair
   */
  static decode(bytes: Buffer, requestId = 0): NameValuePairs {
    const offsets: number[] = [];
    const end = bytes.length;
    let offset = 0;
    while (offset < end) {
      // Two lengths (1 byte below 128, else 4 bytes with the high bit set), then name, value.
      let at = offset;
      const nameLength = lengthAt(bytes, at);
      at += fieldSize(bytes, at);
      const valueLength = nameLength < 0 ? -1 : lengthAt(bytes, at);
      at += fieldSize(bytes, at);
      if (nameLength < 0 || valueLength < 0 || at + nameLength + valueLength > end) {
        throw new ProtocolError(
          `fastcgi: truncated name-value pair at byte ${offset} of ${end} bytes`,
          requestId,
        );
      }
      const middle = at + nameLength;
      offset = middle + valueLength;
      offsets.push(at, middle, offset);
    }
    return new NameValuePairs(bytes, offsets);
  }

  /** Number of pairs, duplicates included. */
  get size(): number {
    return this.#offsets.length / 3;
  }

  /**
   * The value of the last pair named `name` (a later duplicate wins), as a slice of
   * {@link NameValuePairs.bytes}; `undefined` when there is none.
   * @param name - an ASCII name, e.g. `SCRIPT_FILENAME`
   */
  get(name: string): Buffer | undefined {
    const offsets = this.#offsets;
    for (let i = offsets.length - 3; i >= 0; i -= 3) {
      const start = offsets[i] ?? 0;
      const middle = offsets[i + 1] ?? 0;
      if (middle - start === name.length && this.#nameIs(start, name)) {
        return this.bytes.subarray(middle, offsets[i + 2]);
      }
    }
    return undefined;
  }

  /**
   * Calls `visit` for every pair in stream order, duplicates included (a caller keeping one
   * value per name keeps the last, as {@link NameValuePairs.get} does). The name is given as
   * latin1 text (one character per byte: exact, and for the ASCII names of CGI the name
   * itself); the value as a slice of the stream.
   */
  forEach(visit: (value: Buffer, name: string) => void): void {
    this.forEachNamed('', visit);
  }

  /**
   * {@link NameValuePairs.forEach} for the pairs whose name begins with `prefix` (ASCII, e.g.
   * `HTTP_`): the other names are compared byte for byte and never decoded.
   */
  forEachNamed(prefix: string, visit: (value: Buffer, name: string) => void): void {
    const offsets = this.#offsets;
    for (let i = 0; i < offsets.length; i += 3) {
      const start = offsets[i] ?? 0;
      const middle = offsets[i + 1] ?? 0;
      if (middle - start < prefix.length || !this.#nameIs(start, prefix)) continue;
      visit(this.bytes.subarray(middle, offsets[i + 2]), this.bytes.toString('latin1', start, middle));
    }
  }

  /**
   * The pairs as text: names and values decoded as UTF-8 (bytes that are not UTF-8 become
   * U+FFFD), a later duplicate winning, in order of first appearance. For callers that want
   * text (GET_VALUES names, tests); the request path reads bytes.
   */
  toMap(): Map<string, string> {
    const pairs = new Map<string, string>();
    const offsets = this.#offsets;
    for (let i = 0; i < offsets.length; i += 3) {
      const middle = offsets[i + 1] ?? 0;
      pairs.set(this.bytes.toString('utf8', offsets[i], middle), this.bytes.toString('utf8', middle, offsets[i + 2]));
    }
    return pairs;
  }

  #nameIs(start: number, name: string): boolean {
    for (let i = 0; i < name.length; i++) {
      if (this.bytes[start + i] !== name.charCodeAt(i)) return false;
    }
    return true;
  }
}

/** Size of the length field at `offset`: 1 byte below 128, else 4. */
function fieldSize(data: Buffer, offset: number): number {
  return (data[offset] ?? 0) < 0x80 ? 1 : 4;
}

/** The length field at `offset`, or -1 when the stream ends inside it. */
function lengthAt(data: Buffer, offset: number): number {
  const first = data[offset];
  if (first === undefined) return -1;
  if (first < 0x80) return first;
  if (offset + 4 > data.length) return -1;
  return data.readUInt32BE(offset) & MAX_LENGTH;
}
