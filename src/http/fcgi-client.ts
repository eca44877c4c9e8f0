// This file implements a minimal FastCGI client from the perspective of the embedded HTTP
// front (`cgi-fpm start --http`): one request per connection to the daemon's own listener,
// the body streamed as FCGI_STDIN with backpressure, the reply's FCGI_STDOUT handed on as it
// arrives. It speaks to cgi-fpm exactly as nginx does, so the front tests the real path.
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ListenAddress } from '../config/schema.ts';
import { RecordType, Role } from '../fastcgi/constants.ts';
import { encodeNameValuePairs } from '../fastcgi/name-value.ts';
import { RecordParser } from '../fastcgi/parser.ts';
import { encodeBeginRequestBody, encodeRecord } from '../fastcgi/record.ts';
import { encodeStream, encodeStreamEnd } from '../fastcgi/writer.ts';

/** What the caller does with the reply. */
export interface FcgiReplyHandler {
  /** One chunk of FCGI_STDOUT content; return false to pause until `resume` is called. */
  stdout(chunk: Buffer, resume: () => void): boolean;
  stderr(chunk: Buffer): void;
  /** FCGI_END_REQUEST arrived (or the connection ended; `complete` false then). */
  end(complete: boolean): void;
}

const REQUEST_ID = 1;
/** Largest STDIN record content written: 8-byte aligned, so records need no padding. */
const STDIN_CHUNK_BYTES = 65528;

/**
 * Sends one FastCGI responder request and streams the reply to `handler`.
 * @returns the socket, so the caller can destroy it when its own client goes away.
 * @throws TypeError for a `systemd:NAME` address (the front knows no path to connect to).
 * @see FastCGI spec §3.3 (records), §5.1 (FCGI_BEGIN_REQUEST), §6.2 (Responder)
 */
export function fcgiRequest(address: ListenAddress, params: Iterable<readonly [string, string]>,
  body: Readable, handler: FcgiReplyHandler): Socket {
  if (address.kind === 'systemd') {
    throw new TypeError(`http: --http cannot reach the systemd socket "${address.name}": its path is systemd's`);
  }
  const socket = address.kind === 'unix' ? connect(address.path) : connect(address.port, address.host);
  let ended = false;
  const finish = (complete: boolean): void => {
    if (ended) return;
    ended = true;
    handler.end(complete);
    socket.destroy();
  };
  const parser = new RecordParser((record) => {
    if (record.type === RecordType.FCGI_STDOUT && record.content.length > 0) {
      if (!handler.stdout(record.content, () => socket.resume())) socket.pause();
    } else if (record.type === RecordType.FCGI_STDERR) {
      handler.stderr(record.content);
    } else if (record.type === RecordType.FCGI_END_REQUEST) {
      finish(true);
    }
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      parser.push(chunk);
    } catch {
      finish(false);
    }
  });
  socket.on('error', () => { finish(false); });
  socket.on('close', () => { finish(false); });
  socket.write(Buffer.concat([
    ...encodeRecord(RecordType.FCGI_BEGIN_REQUEST, REQUEST_ID, encodeBeginRequestBody(Role.FCGI_RESPONDER, 0)),
    ...encodeStream(RecordType.FCGI_PARAMS, REQUEST_ID, encodeNameValuePairs(params)),
    encodeStreamEnd(RecordType.FCGI_PARAMS, REQUEST_ID),
  ]));
  pipeBody(body, socket);
  return socket;
}

function pipeBody(body: Readable, socket: Socket): void {
  body.on('data', (chunk: Buffer) => {
    for (let at = 0; at < chunk.length; at += STDIN_CHUNK_BYTES) {
      const part = chunk.subarray(at, at + STDIN_CHUNK_BYTES);
      for (const b of encodeRecord(RecordType.FCGI_STDIN, REQUEST_ID, part)) {
        if (!socket.write(b)) {
          body.pause();
          socket.once('drain', () => body.resume());
        }
      }
    }
  });
  body.on('end', () => { if (!socket.destroyed) socket.write(encodeStreamEnd(RecordType.FCGI_STDIN, REQUEST_ID)); });
}
