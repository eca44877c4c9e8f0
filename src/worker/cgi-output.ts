// This file implements the CGI output stage from the perspective of a worker between a
// runtime's raw stdout and the FastCGI request's stdout: hold bytes until the CGI head is
// complete (or take the head structured from a runtime that built one), send the normalized
// head and then the body with backpressure, and tell the caller whether it may still answer 502
// itself (nothing sent yet) when the script failed.
import { Writable } from 'node:stream';
import { whenWritableDone } from './writable-done.ts';
import {
  CgiHeadParser,
  DEFAULT_MAX_HEAD_BYTES,
  encodeCgiHead,
  type CgiHead,
} from '../cgi/response.ts';
import { CgiError, ErrorCode } from '../errors.ts';

/** Settings of a {@link CgiOutput}. */
export interface CgiOutputOptions {
  /** Largest CGI header block accepted, in bytes. @defaultValue `65536` */
  readonly maxHeadBytes?: number;
  /** The script, named in errors. @defaultValue `''` */
  readonly scriptFilename?: string;
}

/** How the script ended, for the `no cgi headers` error. */
export interface CgiExit {
  readonly exitCode?: number | null;
  readonly signal?: string | null;
}

/** Below this size the body bytes that followed the head are sent in the same write. */
const COALESCE_BYTES = 16 * 1024;

/**
 * A Writable for a runtime's `stdout`. Until the head is complete nothing reaches
 * `destination`; then `encodeCgiHead(head)` and the body bytes go out, and every later write
 * is forwarded as is, its callback held until `destination` drains. Empty writes are never
 * forwarded (an empty FCGI_STDOUT record would end the stream). Its own errors (bad headers,
 * head too large, destination closed) are kept and reported by {@link CgiOutput.finish}, not
 * thrown at the runtime.
 * @example
 * ```ts
 * const output = new CgiOutput(fcgiReq.stdout, { scriptFilename });
 * const exit = await runtime({ ...req, stdout: output });
 * try { await output.finish(exit); } catch (err) { if (!output.headersSent) send502(err); }
 * ```
 * @see RFC 3875 §6 (response), docs/DESIGN.md "What the client gets"
 */
export class CgiOutput extends Writable {
  readonly #destination: Writable;
  readonly #parser: CgiHeadParser;
  readonly #scriptFilename: string;
  /** The head, once parsed from the output or given by {@link CgiOutput.writeHead}. */
  #head: CgiHead | undefined;
  /** A head given structured, encoded, until the first body bytes (or the end) go with it. */
  #pendingHead: Buffer | undefined;
  #headersSent = false;
  #bytes = 0;

  /**
   * @param destination - where the response goes (the FastCGI request's stdout); written
   *   to, never ended here.
   * @param options - head bound and the script named in errors.
   */
  constructor(destination: Writable, options: CgiOutputOptions = {}) {
    super();
    this.#destination = destination;
    this.#scriptFilename = options.scriptFilename ?? '';
    this.#parser = new CgiHeadParser(options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES, this.#scriptFilename);
    // Kept for finish(); a writer's failure must not become an uncaught 'error'.
    this.on('error', () => undefined);
  }

  /** True once the head (and so the response status) has been written to the destination. */
  get headersSent(): boolean {
    return this.#headersSent;
  }

  /** Bytes written to the destination so far (normalized head and body). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The head once complete (status for the access log), else `undefined`. */
  get head(): CgiHead | undefined {
    return this.#head;
  }

  /**
   * Takes the response head structured, from a runtime that built it (the handler runtime):
   * encoded once, never parsed; what is written next is the body. The head leaves with the first
   * body bytes (one record for a small response) or at the end.
   * @throws TypeError when a head was already given or written, or when it cannot be written as
   *   CGI (`encodeCgiHead`); CgiError `ERR_CGI_BAD_HEADERS` for a status outside 200–599 or a
   *   field named `Status` (what the parser refuses in a script's head)
   * @see RFC 3875 §6.3.3 (Status)
   */
  writeHead(head: CgiHead): void {
    if (this.#head !== undefined || this.#parser.buffered > 0) throw new TypeError('cgi: output: the head was already written');
    const bad = head.status < 200 || head.status > 599 ? `status ${head.status}`
      : head.headers.some(([name]) => name.toLowerCase() === 'status') ? 'a Status field' : undefined;
    if (bad !== undefined) {
      throw new CgiError(ErrorCode.ERR_CGI_BAD_HEADERS, `cgi: bad headers: ${bad}`, { scriptFilename: this.#scriptFilename });
    }
    this.#pendingHead = encodeCgiHead(head);
    this.#head = head;
    this.#headersSent = true;
  }

  /**
   * Ends the stream and reports the outcome once every write reached the destination. Does
   * not end `destination` (the caller ends the FastCGI request).
   * @param exit - how the script ended, named in the `no cgi headers` error.
   * @returns the head that was sent.
   * @throws CgiError `ERR_CGI_NO_HEADERS` when the output ended (or grew past `maxHeadBytes`)
   *   without a complete head; CgiError `ERR_CGI_BAD_HEADERS` for a malformed head; Error
   *   when the destination closed while output was pending.
   */
  async finish(exit: CgiExit = {}): Promise<CgiHead> {
    if (!this.writableEnded) this.end();
    // Not `stream.finished`: this runs on every request (see writable-done.ts); the same outcomes.
    await new Promise<void>((resolve) => whenWritableDone(this, resolve));
    if (this.errored !== null) throw this.errored;
    if (!this.writableFinished) throw prematureClose();
    const head = this.#head;
    if (head !== undefined) return head;
    const { exitCode = null, signal = null } = exit;
    const how =
      signal !== null ? `killed by ${signal}` : exitCode !== null ? `exit code ${exitCode}` : 'output ended';
    const message = `cgi: no cgi headers: ${how} after ${this.#parser.buffered} bytes without a blank line`;
    throw new CgiError(ErrorCode.ERR_CGI_NO_HEADERS, message, {
      scriptFilename: this.#scriptFilename,
      exitCode,
      signal,
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const pending = this.#pendingHead;
    if (pending !== undefined) {
      this.#pendingHead = undefined;
      this.#sendAfter(pending, chunk, callback);
      return;
    }
    if (this.#head !== undefined) {
      this.#send(chunk, callback);
      return;
    }
    let encoded: Buffer | undefined;
    try {
      const head = this.#parser.push(chunk);
      this.#head = head;
      encoded = head === undefined ? undefined : encodeCgiHead(head);
    } catch (err) {
      callback(err as Error);
      return;
    }
    if (encoded === undefined) {
      callback();
      return;
    }
    this.#headersSent = true;
    this.#sendAfter(encoded, this.#parser.rest, callback);
  }

  /** A head given structured and no body: it goes out at the end. */
  override _final(callback: (error?: Error | null) => void): void {
    const pending = this.#pendingHead;
    this.#pendingHead = undefined;
    if (pending === undefined) callback();
    else this.#send(pending, callback);
  }

  /** Sends the head and the body bytes after it: in one write when the body is small. */
  #sendAfter(head: Buffer, body: Buffer, callback: (error?: Error | null) => void): void {
    if (body.length <= COALESCE_BYTES) {
      this.#send(Buffer.concat([head, body]), callback);
      return;
    }
    this.#destination.write(head);
    this.#bytes += head.length;
    this.#send(body, callback);
  }

  /** Writes `data` (unless empty) and calls back once the destination can take more. */
  #send(data: Buffer, callback: (error?: Error | null) => void): void {
    const destination = this.#destination;
    this.#bytes += data.length;
    if (data.length === 0 || destination.write(data)) {
      callback();
      return;
    }
    const done = (error?: Error): void => {
      destination.off('drain', onDrain);
      destination.off('close', onClose);
      destination.off('error', done);
      callback(error);
    };
    const onDrain = (): void => {
      done();
    };
    const onClose = (): void => {
      done(new Error('cgi: output: destination closed before draining'));
    };
    if (destination.destroyed) {
      onClose();
      return;
    }
    destination.on('drain', onDrain);
    destination.on('close', onClose);
    destination.on('error', done);
  }
}

/** What `stream.finished` rejects with for a stream destroyed before it finished. */
function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
