// This file implements the supervisor's answers to FastCGI management records (request id 0),
// from the perspective of a web server probing the application: FCGI_GET_VALUES is answered
// at any time, with own-property lookups only, and every other type gets FCGI_UNKNOWN_TYPE.
import { RecordType } from '../../fastcgi/constants.ts';
import { NameValueDecoder } from '../../fastcgi/name-value.ts';
import { encodeRecord, encodeUnknownTypeBody, type FcgiRecord } from '../../fastcgi/record.ts';
import { encodeGetValuesResult } from '../../fastcgi/writer.ts';

/**
 * The reply to one management record, as one buffer.
 * @param values - the variables this application reports (`FCGI_MAX_CONNS`, `FCGI_MAX_REQS`,
 *   `FCGI_MPXS_CONNS`); names not in it are left out of the reply, as §4.1 asks.
 * @throws ProtocolError (`ERR_FCGI_PROTOCOL`) when a GET_VALUES body is not valid name-value pairs.
 * @see FastCGI spec §4.1 (FCGI_GET_VALUES), §4.2 (FCGI_UNKNOWN_TYPE)
 */
export function answerManagement(record: FcgiRecord, values: Readonly<Record<string, string>>): Buffer {
  if (record.type === RecordType.FCGI_GET_VALUES) {
    const decoder = new NameValueDecoder(64 * 1024);
    decoder.push(record.content);
    return encodeGetValuesResult(decoder.end().keys(), values);
  }
  return Buffer.concat(encodeRecord(RecordType.FCGI_UNKNOWN_TYPE, 0, encodeUnknownTypeBody(record.type)));
}
