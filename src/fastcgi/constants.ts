// This file implements the FastCGI 1.0 protocol constants from the perspective of an application
// (the responder side of the wire): numbers keep the specification's names and spelling, grouped
// in `as const` objects instead of enums (erasable syntax only).
// Spec: https://fastcgi-archives.github.io/FastCGI_Specification.html

/**
 * The only protocol version: the first byte of every record header.
 * @see FastCGI spec §8 (`FCGI_VERSION_1`)
 */
export const FCGI_VERSION_1 = 1;

/**
 * Length of a record header, in bytes.
 * @see FastCGI spec §8 (`FCGI_HEADER_LEN`)
 */
export const FCGI_HEADER_LEN = 8;

/**
 * Largest `contentLength` a record can carry (a 16-bit field), in bytes.
 * @see FastCGI spec §3.3
 */
export const FCGI_MAX_CONTENT_LEN = 65535;

/**
 * Largest multiple of 8 that fits in a record, in bytes: stream data cut into records of this
 * size needs no padding except on the last record.
 * @see FastCGI spec §3.3 (padding recommendation)
 */
export const FCGI_MAX_ALIGNED_CONTENT_LEN = 65528;

/**
 * The request id of management records (`requestId` 0).
 * @see FastCGI spec §3.3, §4
 */
export const FCGI_NULL_REQUEST_ID = 0;

/**
 * Bit in `FCGI_BeginRequestBody.flags`: keep the connection open after this request.
 * @see FastCGI spec §5.1
 */
export const FCGI_KEEP_CONN = 1;

/**
 * Record types (`FCGI_Header.type`). Values 1..11 are defined; any other type is unknown and
 * answered with `FCGI_UNKNOWN_TYPE`.
 * @see FastCGI spec §8
 */
export const RecordType = {
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

/** One of the record types in {@link RecordType}. */
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/**
 * Roles in `FCGI_BeginRequestBody.role`. cgi-fpm serves `FCGI_RESPONDER` only.
 * @see FastCGI spec §5.1, §6
 */
export const Role = {
  FCGI_RESPONDER: 1,
  FCGI_AUTHORIZER: 2,
  FCGI_FILTER: 3,
} as const;

/** One of the roles in {@link Role}. */
export type Role = (typeof Role)[keyof typeof Role];

/**
 * `protocolStatus` values of `FCGI_EndRequestBody`.
 * @see FastCGI spec §5.5
 */
export const ProtocolStatus = {
  FCGI_REQUEST_COMPLETE: 0,
  FCGI_CANT_MPX_CONN: 1,
  FCGI_OVERLOADED: 2,
  FCGI_UNKNOWN_ROLE: 3,
} as const;

/** One of the protocol statuses in {@link ProtocolStatus}. */
export type ProtocolStatus = (typeof ProtocolStatus)[keyof typeof ProtocolStatus];

/**
 * Variable names a web server may ask for with `FCGI_GET_VALUES`.
 * @see FastCGI spec §4.1
 */
export const GetValuesName = {
  FCGI_MAX_CONNS: 'FCGI_MAX_CONNS',
  FCGI_MAX_REQS: 'FCGI_MAX_REQS',
  FCGI_MPXS_CONNS: 'FCGI_MPXS_CONNS',
} as const;

/**
 * Whether `type` is one of the record types the specification defines (1..11).
 * @param type - a header's `type` byte
 * @see FastCGI spec §8
 */
export function isKnownRecordType(type: number): type is RecordType {
  return (
    Number.isInteger(type) && type >= RecordType.FCGI_BEGIN_REQUEST && type <= RecordType.FCGI_UNKNOWN_TYPE
  );
}
