// This file implements the framing of the channel between a worker and its python runner, from
// the perspective of the worker: frame types, encoding, and an incremental parser that hands
// response bytes on as they arrive (the runner speaks the same format, see runner.py).
//
// A frame is 1 type byte (an ASCII letter), a 4-byte big-endian payload length, the payload.
// worker → runner (runner's fd 3): REQUEST, STDIN…, STDIN_END
// runner → worker (runner's fd 4): HELLO once, then per request STDOUT/STDERR…, DONE
// The request head is NUL-separated UTF-8 rather than JSON: the persistent runner parses it
// with str.split, which no script can patch (a script can patch the json module).
import { CgiError, ErrorCode } from '../../../errors.ts';

/** Frame types of the worker ⇄ runner channel. */
export const Frame = {
  /** runner → worker, once at start: JSON `{ pid, python }`. */
  HELLO: 0x48, // 'H'
  /** worker → runner: a request head, {@link encodeRequestHead}. */
  REQUEST: 0x52, // 'R'
  /** worker → runner: request body bytes. */
  STDIN: 0x49, // 'I'
  /** worker → runner: end of the request body (empty payload). */
  STDIN_END: 0x45, // 'E'
  /** runner → worker: bytes the script wrote to stdout (the CGI response). */
  STDOUT: 0x4f, // 'O'
  /** runner → worker: bytes the script wrote to stderr (the log). */
  STDERR: 0x58, // 'X'
  /** runner → worker: the script ended, JSON {@link DoneReport}. */
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

/**
 * The payload of a REQUEST frame: `script`, `cwd`, then each variable's name and value, all
 * UTF-8, each followed by a NUL byte except the last.
 * @throws CgiError `ERR_CGI_SPAWN` when a string holds a NUL byte: no process can be given
 *   it (the exec runtime's spawn refuses the same environment).
 */
export function encodeRequestHead(
  script: string,
  cwd: string,
  env: Readonly<Record<string, string>>,
): Buffer {
  const fields = [script, cwd];
  for (const [name, value] of Object.entries(env)) fields.push(name, value);
  for (const field of fields) {
    if (field.includes('\0')) {
      throw new CgiError(
        ErrorCode.ERR_CGI_SPAWN,
        `cgi: spawn failed: ${script}: a NUL byte in the environment or path (${JSON.stringify(field.slice(0, 40))})`,
        { scriptFilename: script },
      );
    }
  }
  return Buffer.from(fields.join('\0'), 'utf8');
}

/** What a DONE frame says about a request. */
export interface DoneReport {
  /** The script's exit status, or `null` when it was killed by `signal` (fork isolation). */
  readonly exitCode: number | null;
  /** The signal that ended a forked child, else `null`. */
  readonly signal: NodeJS.Signals | null;
  /** Why the runner exits after this request (it could not put its state back), if it does. */
  readonly recycle: string | undefined;
  /** Time the persistent runner spent checking and restoring its state, in µs. */
  readonly checkUs: number;
}

/** Reads a DONE frame's JSON payload; a field of the wrong type counts as absent. */
export function decodeDone(payload: Buffer): DoneReport {
  const done = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  const exit = done.exit;
  const signal = typeof done.signal === 'string' ? (done.signal as NodeJS.Signals) : null;
  return {
    exitCode: typeof exit === 'number' ? exit : signal === null ? 1 : null,
    signal,
    recycle: typeof done.recycle === 'string' && done.recycle !== '' ? done.recycle : undefined,
    checkUs: typeof done.checkUs === 'number' ? done.checkUs : 0,
  };
}
