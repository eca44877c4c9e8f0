// This file implements the FastCGI wire format from the perspective of a test client that must
// not depend on the daemon's own codec (src/fastcgi): records are built and read here by hand,
// byte by byte, as the FastCGI 1.0 specification lays them out.
// See https://fastcgi-archives.github.io/FastCGI_Specification.html §3, §5.

/** Record types (FastCGI §8). */
export const FCGI = {
  FCGI_BEGIN_REQUEST: 1,
  FCGI_ABORT_REQUEST: 2,
  FCGI_END_REQUEST: 3,
  FCGI_PARAMS: 4,
  FCGI_STDIN: 5,
  FCGI_STDOUT: 6,
  FCGI_STDERR: 7,
  FCGI_DATA: 8,
  FCGI_GET_VALUES: 9,
  FCGI_GET_VALUES_RESULT: 10,
  FCGI_UNKNOWN_TYPE: 11,
} as const;

/** `FCGI_RESPONDER` role and the `FCGI_KEEP_CONN` flag (FastCGI §5.1). */
export const FCGI_RESPONDER = 1;
export const FCGI_KEEP_CONN = 1;

/** One decoded record; `content` excludes padding. */
export interface WireRecord {
  readonly type: number;
  readonly requestId: number;
  readonly content: Buffer;
}

/**
 * One record: 8-byte header (version 1, type, request id, content length, padding length,
 * reserved), content, and zero padding to a multiple of 8.
 *
 * @throws RangeError when content exceeds 65535 bytes
 */
export function encodeRecord(type: number, requestId: number, content: Buffer = Buffer.alloc(0)): Buffer {
  if (content.length > 0xffff)
    throw new RangeError(`fastcgi: record content ${content.length} bytes > 65535`);
  const padding = (8 - (content.length % 8)) % 8;
  const header = Buffer.alloc(8);
  header.writeUInt8(1, 0);
  header.writeUInt8(type, 1);
  header.writeUInt16BE(requestId, 2);
  header.writeUInt16BE(content.length, 4);
  header.writeUInt8(padding, 6);
  return Buffer.concat([header, content, Buffer.alloc(padding)]);
}

/** `FCGI_BEGIN_REQUEST` for a responder, with `FCGI_KEEP_CONN` when asked. */
export function encodeBeginRequest(requestId: number, keepConn: boolean): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16BE(FCGI_RESPONDER, 0);
  body.writeUInt8(keepConn ? FCGI_KEEP_CONN : 0, 2);
  return encodeRecord(FCGI.FCGI_BEGIN_REQUEST, requestId, body);
}

function encodeLength(length: number): Buffer {
  if (length < 128) return Buffer.from([length]);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((length | 0x80000000) >>> 0, 0);
  return out;
}

/**
 * Name-value pairs (FastCGI §3.4): 1-byte lengths below 128, else 4 bytes with the high bit.
 * A string value is sent as UTF-8, a Buffer value as its bytes.
 */
export function encodeNameValuePairs(pairs: Iterable<readonly [string, string | Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of pairs) {
    const n = Buffer.from(name, 'utf8');
    const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    parts.push(encodeLength(n.length), encodeLength(v.length), n, v);
  }
  return Buffer.concat(parts);
}

/** A stream (PARAMS, STDIN) as records of at most 65528 bytes, then the empty end record. */
export function encodeStream(type: number, requestId: number, data: Buffer): Buffer {
  const records: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += 65528) {
    records.push(encodeRecord(type, requestId, data.subarray(offset, offset + 65528)));
  }
  records.push(encodeRecord(type, requestId));
  return Buffer.concat(records);
}

/**
 * A whole responder request: BEGIN_REQUEST, PARAMS stream, STDIN stream.
 *
 * @param paramsPerRecord - one PARAMS record per name-value pair, as Apache mod_proxy_fcgi
 *   sends them, instead of nginx's single record @defaultValue false
 */
export function encodeRequest(
  requestId: number,
  params: Iterable<readonly [string, string | Buffer]>,
  stdin: Buffer,
  keepConn: boolean,
  paramsPerRecord = false,
): Buffer {
  const paramRecords = paramsPerRecord
    ? Buffer.concat([
        ...[...params].map((pair) => encodeRecord(FCGI.FCGI_PARAMS, requestId, encodeNameValuePairs([pair]))),
        encodeRecord(FCGI.FCGI_PARAMS, requestId),
      ])
    : encodeStream(FCGI.FCGI_PARAMS, requestId, encodeNameValuePairs(params));
  return Buffer.concat([
    encodeBeginRequest(requestId, keepConn),
    paramRecords,
    encodeStream(FCGI.FCGI_STDIN, requestId, stdin),
  ]);
}

/**
 * Walks the whole records at the start of `data` without copying: `visit` gets each one as a
 * slice (its 8-byte header, content and padding); returns what is left (a record not whole yet).
 * For load loops that must cost little (the bench's client and its Node floor); tests that want
 * records decoded use {@link RecordReader}.
 */
export function walkRecords(data: Buffer, visit: (record: Buffer) => void): Buffer {
  let rest = data;
  while (rest.length >= 8) {
    const total = 8 + rest.readUInt16BE(4) + rest.readUInt8(6);
    if (rest.length < total) break;
    visit(rest.subarray(0, total));
    rest = rest.subarray(total);
  }
  return rest;
}

/** Incremental record reader: push bytes, get every complete record (padding skipped). */
export class RecordReader {
  #pending: Buffer = Buffer.alloc(0);

  /**
   * @throws Error when a header's version is not 1
   */
  push(chunk: Buffer): WireRecord[] {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    const out: WireRecord[] = [];
    while (this.#pending.length >= 8) {
      const version = this.#pending.readUInt8(0);
      if (version !== 1) throw new Error(`fastcgi: response record version ${version}`);
      const contentLength = this.#pending.readUInt16BE(4);
      const total = 8 + contentLength + this.#pending.readUInt8(6);
      if (this.#pending.length < total) break;
      out.push({
        type: this.#pending.readUInt8(1),
        requestId: this.#pending.readUInt16BE(2),
        content: Buffer.from(this.#pending.subarray(8, 8 + contentLength)),
      });
      this.#pending = this.#pending.subarray(total);
    }
    return out;
  }

  /** Bytes received that do not yet form a whole record. */
  get buffered(): number {
    return this.#pending.length;
  }
}

/** `FCGI_END_REQUEST` body (FastCGI §5.5). */
export function decodeEndRequest(content: Buffer): { appStatus: number; protocolStatus: number } {
  return { appStatus: content.readUInt32BE(0), protocolStatus: content.readUInt8(4) };
}
