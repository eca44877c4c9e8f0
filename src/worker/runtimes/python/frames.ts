// This file implements the framing of the channel between a worker and its python runner, from
// the perspective of the worker: frame types, encoding, and an incremental parser that hands
// response bytes on as they arrive (the runner speaks the same format, see runner.py).
//
// A frame is 1 type byte (an ASCII letter), a 4-byte big-endian payload length, the payload.
// worker → runner (runner's fd 3): REQUEST, STDIN…, STDIN_END
// runner → worker (runner's fd 4): HELLO once, then per request STDOUT/STDERR…, DONE

/** Frame types of the worker ⇄ runner channel. */
export const Frame = {
  /** runner → worker, once at start: JSON `{ pid, python }`. */
  HELLO: 0x48, // 'H'
  /** worker → runner: a request head, JSON `{ script, cwd, env }`. */
  REQUEST: 0x52, // 'R'
  /** worker → runner: request body bytes. */
  STDIN: 0x49, // 'I'
  /** worker → runner: end of the request body (empty payload). */
  STDIN_END: 0x45, // 'E'
  /** runner → worker: bytes the script wrote to stdout (the CGI response). */
  STDOUT: 0x4f, // 'O'
  /** runner → worker: bytes the script wrote to stderr (the log). */
  STDERR: 0x58, // 'X'
  /** runner → worker: the script ended, JSON `{ exit }` (its exit status). */
  DONE: 0x44, // 'D'
} as const;

/** Length of a frame header in bytes: type (1) + payload length (4). */
export const FRAME_HEADER_BYTES = 5;

/** Largest control payload (HELLO, DONE) accepted, in bytes; protects against a broken runner. */
export const MAX_CONTROL_PAYLOAD_BYTES = 64 * 1024;

/** Encodes the header of a frame whose payload is `payloadBytes` long. */
export function encodeFrameHeader(type: number, payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(payloadBytes, 1);
  return header;
}

/** What a {@link FrameParser} reports. */
export interface FrameHandler {
  /** A piece of a streamed frame's payload (STDOUT, STDERR), in order; never empty. */
  data(type: number, piece: Buffer): void;
  /** A whole control frame (any type that is not streamed). */
  frame(type: number, payload: Buffer): void;
}

/**
 * Splits the runner's output into frames. Payloads of `streamed` types are handed on piece by
 * piece as they arrive (zero-copy slices of the input chunks), so a 10 MB response is never
 * held whole; other payloads are gathered and handed on whole.
 * @throws RangeError from {@link FrameParser.push} when a control payload is larger than
 *   {@link MAX_CONTROL_PAYLOAD_BYTES}.
 */
export class FrameParser {
  readonly #streamed: ReadonlySet<number>;
  readonly #handler: FrameHandler;
  #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerBytes = 0;
  #type = 0;
  #left = 0;
  #control: Buffer[] = [];
  #inPayload = false;

  constructor(streamed: Iterable<number>, handler: FrameHandler) {
    this.#streamed = new Set(streamed);
    this.#handler = handler;
  }

  /** Feeds bytes read from the runner; calls the handler for everything they complete. */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.#inPayload) {
        offset = this.#readHeader(chunk, offset);
        continue;
      }
      const take = Math.min(this.#left, chunk.length - offset);
      const piece = chunk.subarray(offset, offset + take);
      offset += take;
      this.#left -= take;
      if (this.#streamed.has(this.#type)) this.#handler.data(this.#type, piece);
      else this.#control.push(piece);
      if (this.#left === 0) this.#endPayload();
    }
  }

  #readHeader(chunk: Buffer, offset: number): number {
    const take = Math.min(FRAME_HEADER_BYTES - this.#headerBytes, chunk.length - offset);
    chunk.copy(this.#header, this.#headerBytes, offset, offset + take);
    this.#headerBytes += take;
    if (this.#headerBytes < FRAME_HEADER_BYTES) return offset + take;
    this.#headerBytes = 0;
    this.#type = this.#header.readUInt8(0);
    this.#left = this.#header.readUInt32BE(1);
    const streamed = this.#streamed.has(this.#type);
    if (!streamed && this.#left > MAX_CONTROL_PAYLOAD_BYTES) {
      throw new RangeError(
        `runtime: python: frame ${this.#type} of ${this.#left} bytes exceeds ${MAX_CONTROL_PAYLOAD_BYTES} bytes`,
      );
    }
    this.#inPayload = true;
    if (this.#left === 0) this.#endPayload();
    return offset + take;
  }

  #endPayload(): void {
    this.#inPayload = false;
    if (this.#streamed.has(this.#type)) return;
    const payload = Buffer.concat(this.#control);
    this.#control = [];
    this.#handler.frame(this.#type, payload);
  }
}
