// This file implements the incremental FastCGI record parser from the perspective of a reader fed
// arbitrary chunks of a byte stream (a socket's 'data' events): headers and contents may be split
// at any offset. Every byte is visited once (node-fastcgi re-copied its whole buffer per record and
// went quadratic, audit A-13); a record that lies in one chunk is delivered as a zero-copy slice.

import { FCGI_HEADER_LEN, FCGI_VERSION_1 } from './constants.ts';
import type { FcgiRecord } from './record.ts';
import { ProtocolError } from '../errors.ts';

const EMPTY = Buffer.alloc(0);

/**
 * Incremental record parser: push chunks, receive whole records (padding skipped) through the
 * callback, in stream order, synchronously from {@link RecordParser.push}.
 * @see FastCGI spec §3.3
 */
export class RecordParser {
  readonly #onRecord: (record: FcgiRecord) => void;
  /** Header bytes of a header split across chunks. */
  readonly #header = Buffer.alloc(FCGI_HEADER_LEN);
  #headerBytes = 0;
  #type = 0;
  #requestId = 0;
  /** Content length of the record being read; -1 while reading a header (or its padding). */
  #contentLength = -1;
  #paddingLeft = 0;
  /** Pieces of a content split across chunks, concatenated once when complete. */
  #parts: Buffer[] = [];
  #partsBytes = 0;
  #failure: ProtocolError | undefined;

  /**
   * @param onRecord - called once per complete record; an exception it throws propagates out of
   *   `push` and the rest of that chunk is not parsed, so the stream is lost: discard the parser
   */
  constructor(onRecord: (record: FcgiRecord) => void) {
    this.#onRecord = onRecord;
  }

  /**
   * Bytes held back for an incomplete record (a partial header plus partial content), in bytes.
   * Padding is skipped as it arrives and never held.
   */
  get buffered(): number {
    return this.#headerBytes + this.#partsBytes;
  }

  /**
   * Feed the next chunk of the stream.
   * @param chunk - the next bytes; content slices of it may be handed to `onRecord`
   * @throws ProtocolError (`ERR_FCGI_PROTOCOL`) when a header's version is not 1; the parser then
   *   stays failed and every later `push` throws the same error
   * @see FastCGI spec §3.3 (`FCGI_VERSION_1`)
   */
  push(chunk: Buffer): void {
    if (this.#failure !== undefined) throw this.#failure;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#contentLength >= 0) {
        offset = this.#readContent(chunk, offset);
      } else if (this.#paddingLeft > 0) {
        const skip = Math.min(this.#paddingLeft, chunk.length - offset);
        this.#paddingLeft -= skip;
        offset += skip;
      } else {
        offset = this.#readHeader(chunk, offset);
      }
    }
  }

  #readHeader(chunk: Buffer, offset: number): number {
    if (this.#headerBytes === 0 && chunk.length - offset >= FCGI_HEADER_LEN) {
      this.#startRecord(chunk, offset);
      return offset + FCGI_HEADER_LEN;
    }
    const take = Math.min(FCGI_HEADER_LEN - this.#headerBytes, chunk.length - offset);
    chunk.copy(this.#header, this.#headerBytes, offset, offset + take);
    this.#headerBytes += take;
    if (this.#headerBytes === FCGI_HEADER_LEN) {
      this.#headerBytes = 0;
      this.#startRecord(this.#header, 0);
    }
    return offset + take;
  }

  #startRecord(header: Buffer, at: number): void {
    const version = header.readUInt8(at);
    if (version !== FCGI_VERSION_1) {
      this.#failure = new ProtocolError(
        `fastcgi: bad record version: expected ${FCGI_VERSION_1}, got ${version}`,
      );
      throw this.#failure;
    }
    this.#type = header.readUInt8(at + 1);
    this.#requestId = header.readUInt16BE(at + 2);
    this.#contentLength = header.readUInt16BE(at + 4);
    this.#paddingLeft = header.readUInt8(at + 6);
    // An empty record has no content to wait for: deliver it now, ahead of its padding.
    if (this.#contentLength === 0) this.#deliver(EMPTY);
  }

  #readContent(chunk: Buffer, offset: number): number {
    const available = chunk.length - offset;
    if (this.#partsBytes === 0 && available >= this.#contentLength) {
      const end = offset + this.#contentLength;
      this.#deliver(chunk.subarray(offset, end));
      return end;
    }
    const take = Math.min(this.#contentLength - this.#partsBytes, available);
    this.#parts.push(chunk.subarray(offset, offset + take));
    this.#partsBytes += take;
    if (this.#partsBytes === this.#contentLength) {
      const content = Buffer.concat(this.#parts, this.#partsBytes);
      this.#parts = [];
      this.#partsBytes = 0;
      this.#deliver(content);
    }
    return offset + take;
  }

  /** Back to "expecting a header (after the padding)" first, so a throwing callback leaves a consistent state. */
  #deliver(content: Buffer): void {
    this.#contentLength = -1;
    this.#onRecord({ type: this.#type, requestId: this.#requestId, content });
  }
}
