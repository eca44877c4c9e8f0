// This file implements one connection of the bench's Node floor (fcgi-floor.ts) from the
// perspective of nginx: every request gets the same hello page at its empty FCGI_STDIN, in one
// write with its FCGI_END_REQUEST, and the connection ends after it unless FCGI_KEEP_CONN was
// asked. Records are walked in place, nothing else is read: the least work a request can be.
import type { Socket } from 'node:net';
import { FCGI, encodeRecord, encodeStream, walkRecords } from '../../test/integration/helpers/fastcgi-wire.ts';
import { HELLO_BODY } from '../workspace.ts';

/** A record header's bytes (FCGI_BEGIN_REQUEST's flags follow it). */
const HEADER_BYTES = 8;
/** Bound on the unparsed bytes kept per connection (a request head of nginx's is far smaller). */
const MAX_PENDING_BYTES = 1024 * 1024;

/** The whole answer to one request: the CGI head and body, the stream's end, FCGI_END_REQUEST. */
function answer(requestId: number): Buffer {
  const page = Buffer.from(`Content-Type: text/plain\r\n\r\n${HELLO_BODY}`, 'latin1');
  return Buffer.concat([
    encodeStream(FCGI.FCGI_STDOUT, requestId, page),
    encodeRecord(FCGI.FCGI_END_REQUEST, requestId, Buffer.alloc(8)),
  ]);
}

/** nginx numbers every request 1. */
const ANSWER_1 = answer(1);

/**
 * Serves one connection: at each request's empty FCGI_STDIN, writes the fixed answer; ends the
 * connection after it unless FCGI_BEGIN_REQUEST asked to keep it (FCGI_KEEP_CONN).
 */
export function serveFloorConnection(socket: Socket): void {
  let pending: Buffer = Buffer.alloc(0);
  let keepConn = false;
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    pending = walkRecords(pending.length === 0 ? chunk : Buffer.concat([pending, chunk]), (record) => {
      const type = record.readUInt8(1);
      const requestId = record.readUInt16BE(2);
      if (type === FCGI.FCGI_BEGIN_REQUEST) keepConn = (record.readUInt8(HEADER_BYTES + 2) & 1) === 1;
      else if (type === FCGI.FCGI_STDIN && record.readUInt16BE(4) === 0) {
        const reply = requestId === 1 ? ANSWER_1 : answer(requestId);
        if (keepConn) socket.write(reply);
        else socket.end(reply);
      }
    });
    if (pending.length > MAX_PENDING_BYTES) socket.destroy();
  });
}

