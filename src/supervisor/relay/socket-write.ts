// This file implements the relay's writes to a socket from the perspective of the stream
// machinery each `socket.write` goes through: the few small records of one relayed step (a
// request's BEGIN and PARAMS, a reply's STDOUT and END_REQUEST) are copied into one buffer and
// written once, which costs less than a corked write per part; large data keeps its parts.
import type { Socket } from 'node:net';

/** Largest batch copied into one buffer for one `socket.write`; a larger one is written as its parts. */
export const COPY_MAX_BYTES = 16 * 1024;

/** Bytes in `buffers`. */
export function totalBytes(buffers: readonly Buffer[]): number {
  let bytes = 0;
  for (const b of buffers) bytes += b.length;
  return bytes;
}

/**
 * Writes `buffers` (`bytes` in all) as one chunk when small (one pass through the stream's
 * machinery instead of one per part), else corked.
 * @returns what `socket.write` says (false: wait for 'drain')
 */
export function writeBuffers(socket: Socket, buffers: readonly Buffer[], bytes: number): boolean {
  if (buffers.length === 0) return true;
  const only = buffers.length === 1 ? buffers[0] : undefined;
  if (only !== undefined) return socket.write(only);
  if (bytes <= COPY_MAX_BYTES) return socket.write(Buffer.concat(buffers, bytes));
  socket.cork();
  let ok = true;
  for (const b of buffers) ok = socket.write(b);
  socket.uncork();
  return ok;
}

