// This file implements FastCGI record framing (the 8-byte header, padding, and the fixed-size
// bodies of BEGIN_REQUEST, END_REQUEST and UNKNOWN_TYPE) from the perspective of a codec that
// turns numbers into bytes and back, and never copies a record's content.

import { FCGI_HEADER_LEN, FCGI_MAX_CONTENT_LEN, FCGI_VERSION_1 } from './constants.ts';
import { ProtocolError } from '../errors.ts';

/**
 * One FastCGI record as the parser delivers it.
 * @see FastCGI spec §3.3
 */
export interface FcgiRecord {
  /** Record type, `FCGI_Header.type` (see `RecordType`); may be a type the spec does not define. */
  type: number;
  /** `FCGI_Header.requestId`, 0..65535; 0 is a management record. */
  requestId: number;
  /** The content, `contentLength` bytes, without padding; may be a slice of the input chunk. */
  content: Buffer;
}

/** Zero bytes for padding; never written to, so one shared instance serves every record. */
const ZEROS = Buffer.alloc(8);
const EMPTY = Buffer.alloc(0);

function assertUint(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`fastcgi: ${what} must be an integer in 0..${max}, got ${value}`);
  }
}

/**
 * Padding that aligns a record of `contentLength` bytes to 8 bytes: `(8 - len % 8) % 8`.
 * @param contentLength - content length in bytes
 * @returns padding length in bytes, 0..7
 * @see FastCGI spec §3.3 ("We recommend that records be placed on boundaries that are multiples of eight bytes")
 */
export function paddingFor(contentLength: number): number {
  return (8 - (contentLength % 8)) % 8;
}

/**
 * Encode an 8-byte record header: version 1, type, requestId, contentLength, paddingLength, reserved.
 * @param type - record type, 0..255
 * @param requestId - request id, 0..65535
 * @param contentLength - content length in bytes, 0..65535
 * @param paddingLength - padding length in bytes, 0..255
 * @throws RangeError when a field is not an integer in its range
 * @see FastCGI spec §3.3 (`FCGI_Header`)
 */
export function encodeHeader(
  type: number,
  requestId: number,
  contentLength: number,
  paddingLength: number,
): Buffer {
  assertUint('record type', type, 0xff);
  assertUint('requestId', requestId, 0xffff);
  assertUint('contentLength', contentLength, FCGI_MAX_CONTENT_LEN);
  assertUint('paddingLength', paddingLength, 0xff);
  const header = Buffer.allocUnsafe(FCGI_HEADER_LEN);
  header[0] = FCGI_VERSION_1;
  header[1] = type;
  header.writeUInt16BE(requestId, 2);
  header.writeUInt16BE(contentLength, 4);
  header[6] = paddingLength;
  header[7] = 0;
  return header;
}

/**
 * Encode one record as buffers to write in order (header, content, padding), padded to 8 bytes.
 * The content is not copied; an empty content or padding is left out of the list.
 * @param type - record type, 0..255
 * @param requestId - request id, 0..65535
 * @param content - the content, at most 65535 bytes
 * @defaultValue content: empty (the end-of-stream record)
 * @throws RangeError when `content` is longer than 65535 bytes or a header field is out of range
 * @see FastCGI spec §3.3
 */
export function encodeRecord(type: number, requestId: number, content: Buffer = EMPTY): Buffer[] {
  const padding = paddingFor(content.length);
  const parts = [encodeHeader(type, requestId, content.length, padding)];
  if (content.length > 0) parts.push(content);
  if (padding > 0) parts.push(ZEROS.subarray(0, padding));
  return parts;
}

/**
 * Encode an `FCGI_BeginRequestBody` (8 bytes).
 * @param role - role, 0..65535 (see `Role`)
 * @param flags - flag bits, 0..255 (`FCGI_KEEP_CONN`)
 * @throws RangeError when a field is out of range
 * @see FastCGI spec §5.1
 */
export function encodeBeginRequestBody(role: number, flags: number): Buffer {
  assertUint('role', role, 0xffff);
  assertUint('flags', flags, 0xff);
  const body = Buffer.alloc(8);
  body.writeUInt16BE(role, 0);
  body[2] = flags;
  return body;
}

/**
 * Decode an `FCGI_BeginRequestBody`.
 * @param content - the BEGIN_REQUEST record's content
 * @param requestId - the record's request id, carried by the error
 * @defaultValue requestId: 0
 * @returns `role` (see `Role`) and `flags` (see `FCGI_KEEP_CONN`)
 * @throws ProtocolError (`ERR_FCGI_PROTOCOL`) when the content is shorter than 8 bytes
 * @see FastCGI spec §5.1
 */
export function decodeBeginRequestBody(content: Buffer, requestId = 0): { role: number; flags: number } {
  if (content.length < 8) {
    throw new ProtocolError(
      `fastcgi: short FCGI_BEGIN_REQUEST body: expected 8 bytes, got ${content.length} bytes`,
      requestId,
    );
  }
  return { role: content.readUInt16BE(0), flags: content.readUInt8(2) };
}

/**
 * Encode an `FCGI_EndRequestBody` (8 bytes).
 * @param appStatus - the application's exit status, 0..2^32-1
 * @param protocolStatus - see `ProtocolStatus`, 0..255
 * @throws RangeError when a field is out of range
 * @see FastCGI spec §5.5
 */
export function encodeEndRequestBody(appStatus: number, protocolStatus: number): Buffer {
  assertUint('appStatus', appStatus, 0xffffffff);
  assertUint('protocolStatus', protocolStatus, 0xff);
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus, 0);
  body[4] = protocolStatus;
  return body;
}

/**
 * Decode an `FCGI_EndRequestBody`.
 * @param content - the END_REQUEST record's content
 * @param requestId - the record's request id, carried by the error
 * @defaultValue requestId: 0
 * @returns `appStatus` and `protocolStatus` (see `ProtocolStatus`)
 * @throws ProtocolError (`ERR_FCGI_PROTOCOL`) when the content is shorter than 8 bytes
 * @see FastCGI spec §5.5
 */
export function decodeEndRequestBody(
  content: Buffer,
  requestId = 0,
): { appStatus: number; protocolStatus: number } {
  if (content.length < 8) {
    throw new ProtocolError(
      `fastcgi: short FCGI_END_REQUEST body: expected 8 bytes, got ${content.length} bytes`,
      requestId,
    );
  }
  return { appStatus: content.readUInt32BE(0), protocolStatus: content.readUInt8(4) };
}

/**
 * Encode an `FCGI_UnknownTypeBody` (8 bytes) naming the type that was not understood.
 * @param type - the unknown record type, 0..255
 * @throws RangeError when `type` is out of range
 * @see FastCGI spec §4.2
 */
export function encodeUnknownTypeBody(type: number): Buffer {
  assertUint('record type', type, 0xff);
  const body = Buffer.alloc(8);
  body[0] = type;
  return body;
}
