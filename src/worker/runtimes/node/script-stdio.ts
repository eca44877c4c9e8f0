// This file implements a script's three standard streams from the perspective of the node
// runtime: `process.stdout` writes into the request's CGI output with backpressure,
// `process.stderr` becomes log lines, and `process.stdin` reads the body as it streams in.
// Callbacks that arrive from the worker's own sockets (a drain, a body chunk) are run as
// script code, so what the script starts from them is tracked as its own.
import { Readable, Writable } from 'node:stream';
import { LineSplitter } from '../line-splitter.ts';

/** How a stream hands control back to script code. */
export interface ScriptContext {
  /** Runs `fn` as script code; an exception it throws fails the run instead of the worker. */
  readonly enter: (fn: () => void) => void;
  /** Something the end-of-script check looks at changed (a write completed, the body ended). */
  readonly changed: () => void;
}

/**
 * `process.stdout` of one run: a Writable over the request's output. Each write is passed on
 * once the previous one was accepted, so `write()` returns false once `highWaterMark` bytes
 * wait, and 'drain' follows as the client reads. Ending it never ends the destination.
 */
export class ScriptStdout extends Writable {
  readonly #destination: Writable;
  readonly #context: ScriptContext;
  #forwarded = 0;

  /**
   * @param destination - the request's raw CGI output (`RuntimeRequest.stdout`)
   * @param context - where write callbacks run
   */
  constructor(destination: Writable, context: ScriptContext) {
    super();
    this.#destination = destination;
    this.#context = context;
    // Writes after an exit or a failed destination error here; the script's own callbacks
    // see the error, the worker must not.
    this.on('error', () => undefined);
  }

  /** True once the script wrote anything (passed on or still queued). */
  get anyOutput(): boolean {
    return this.#forwarded > 0 || this.writableLength > 0;
  }

  /** True while written bytes wait to be accepted by the destination. */
  get busy(): boolean {
    return this.writableLength > 0 && !this.destroyed;
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const data =
      chunks.length === 1 ? (chunks[0]?.chunk ?? Buffer.alloc(0)) : Buffer.concat(chunks.map((c) => c.chunk));
    this.#forwarded += data.length;
    this.#destination.write(data, (error) => {
      this.#context.enter(() => {
        callback(error);
      });
      this.#context.changed();
    });
  }
}

/** `process.stderr` of one run: each line goes to `onLine` (the worker's log). */
export class ScriptStderr extends Writable {
  readonly #lines: LineSplitter;

  /** @param onLine - called once per line, line ending removed */
  constructor(onLine: (line: string) => void) {
    const lines = new LineSplitter(onLine);
    super({
      write: (chunk: Buffer, _encoding, callback) => {
        lines.push(chunk);
        callback();
      },
    });
    this.#lines = lines;
    this.on('error', () => undefined);
  }

  /** Emits the last unterminated line; later writes are dropped. */
  flush(): void {
    this.#lines.end();
  }

  /** The script's process is gone: emit the last line and drop whatever is written later. */
  close(): void {
    this.flush();
    if (!this.writableEnded) this.end();
  }
}

/**
 * `process.stdin` of one run: the request body, pulled from `source` only as the script reads
 * (so a large upload is never buffered whole), ending when the body ends.
 */
export class ScriptStdin extends Readable {
  readonly #source: Readable;
  readonly #detach: () => void;

  /**
   * @param source - the request body (`RuntimeRequest.stdin`)
   * @param context - where data and end events reach the script
   */
  constructor(source: Readable, context: ScriptContext) {
    super();
    this.#source = source;
    const onData = (chunk: Buffer): void => {
      context.enter(() => {
        if (!this.push(chunk)) source.pause();
      });
    };
    let ended = false;
    const onEnd = (): void => {
      if (ended) return;
      ended = true;
      context.enter(() => {
        if (!this.destroyed) this.push(null);
      });
      context.changed();
    };
    const onError = (error: Error): void => {
      context.enter(() => this.destroy(error));
      context.changed();
    };
    source.on('data', onData);
    source.once('end', onEnd);
    // A body cut short (client gone) closes without 'end': the script sees end of file.
    source.once('close', onEnd);
    source.once('error', onError);
    source.pause();
    this.#detach = () => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('close', onEnd);
      source.off('error', onError);
    };
    if (source.destroyed || source.readableEnded) onEnd();
  }

  /**
   * True while the script consumes the body (flowing, piped, iterated or waiting on
   * 'readable') and it has not ended: a real process's stdin pipe is then being read.
   */
  get busy(): boolean {
    if (this.readableEnded || this.destroyed) return false;
    return this.readableFlowing === true || this.listenerCount('readable') > 0;
  }

  override _read(): void {
    this.#source.resume();
  }

  /** The run is over: stop feeding the script and let the rest of the body be discarded. */
  detach(): void {
    this.#detach();
    this.#source.resume();
  }
}
