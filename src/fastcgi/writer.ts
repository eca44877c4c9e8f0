// This file implements the records an application writes (stream data, stream ends, END_REQUEST,
// GET_VALUES_RESULT, UNKNOWN_TYPE) from the perspective of a writer that hands a socket a list
// of buffers to write corked: payloads are sliced, never copied (node-fastcgi copied every 64 KiB
// of output, audit A-14), and records are 8-byte aligned (audit A-12).

import {
  FCGI_MAX_ALIGNED_CONTENT_LEN,
  FCGI_MAX_CONTENT_LEN,
  FCGI_NULL_REQUEST_ID,
  RecordType,
} from './constants.ts';
import { encodeNameValuePairs } from './name-value.ts';
import { encodeEndRequestBody, encodeHeader, encodeRecord, encodeUnknownTypeBody } from './record.ts';

/**
 * Encode stream data (STDOUT, STDERR, or a client's PARAMS/STDIN/DATA) as records of at most
 * 65528 bytes each: 8-byte aligned, so only the last record can need padding. `data` is sliced,
 * not copied. Empty data gives no records (an empty record would end the stream; see
 * {@link encodeStreamEnd}).
 * @param type - a stream record type (see `RecordType`), 0..255
 * @param requestId - request id, 0..65535
 * @param data - the bytes to send, any length
 * @returns buffers to write in order
 * @throws RangeError when `type` or `requestId` is out of range
 * @see FastCGI spec §3.3 (stream records), §5.3
 */
export function encodeStream(type: number, requestId: number, data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += FCGI_MAX_ALIGNED_CONTENT_LEN) {
    const piece = data.subarray(offset, offset + FCGI_MAX_ALIGNED_CONTENT_LEN);
    for (const part of encodeRecord(type, requestId, piece)) out.push(part);
  }
  return out;
}

/**
 * Encode the empty record that ends a stream (8 bytes, no content, no padding).
 * @param type - a stream record type (see `RecordType`), 0..255
 * @param requestId - request id, 0..65535
 * @throws RangeError when `type` or `requestId` is out of range
 * @see FastCGI spec §3.3 (stream records)
 */
export function encodeStreamEnd(type: number, requestId: number): Buffer {
  return encodeHeader(type, requestId, 0, 0);
}

/**
 * Encode a whole `FCGI_END_REQUEST` record (16 bytes).
 * @param requestId - request id, 0..65535
 * @param appStatus - the application's exit status, 0..2^32-1
 * @param protocolStatus - see `ProtocolStatus`, 0..255
 * @throws RangeError when a field is out of range
 * @see FastCGI spec §5.5
 */
export function encodeEndRequest(requestId: number, appStatus: number, protocolStatus: number): Buffer {
  const body = encodeEndRequestBody(appStatus, protocolStatus);
  return Buffer.concat([encodeHeader(RecordType.FCGI_END_REQUEST, requestId, body.length, 0), body]);
}

/**
 * Encode a whole `FCGI_UNKNOWN_TYPE` management record (16 bytes) naming `type`.
 * @param type - the record type that was not understood, 0..255
 * @throws RangeError when `type` is out of range
 * @see FastCGI spec §4.2
 */
export function encodeUnknownType(type: number): Buffer {
  const body = encodeUnknownTypeBody(type);
  return Buffer.concat([
    encodeHeader(RecordType.FCGI_UNKNOWN_TYPE, FCGI_NULL_REQUEST_ID, body.length, 0),
    body,
  ]);
}

/**
 * Encode a whole `FCGI_GET_VALUES_RESULT` management record answering the `names` asked for.
 * Only `values`' own properties count (`toString`, `constructor` and `__proto__` are unknown
 * names, not a crash: node-fastcgi audit A-2); unknown names are left out, as the spec says;
 * a name asked for twice is answered once.
 * @param names - the names from the `FCGI_GET_VALUES` record
 * @param values - the application's answers, e.g. `{ FCGI_MPXS_CONNS: '0' }`
 * @throws RangeError when the answer does not fit in one record (65535 bytes of content)
 * @see FastCGI spec §4.1
 */
export function encodeGetValuesResult(
  names: Iterable<string>,
  values: Readonly<Record<string, string>>,
): Buffer {
  const answers = new Map<string, string>();
  for (const name of names) {
    const value: unknown = Object.hasOwn(values, name) ? values[name] : undefined;
    if (typeof value === 'string') answers.set(name, value);
  }
  const content = encodeNameValuePairs(answers);
  if (content.length > FCGI_MAX_CONTENT_LEN) {
    throw new RangeError(
      `fastcgi: FCGI_GET_VALUES_RESULT too large: ${content.length} bytes, at most ${FCGI_MAX_CONTENT_LEN} bytes`,
    );
  }
  return Buffer.concat(encodeRecord(RecordType.FCGI_GET_VALUES_RESULT, FCGI_NULL_REQUEST_ID, content));
}
