// This file implements a relayed request's response while its body is still arriving, from the
// perspective of the web server's FastCGI stream: the worker's FCGI_STDOUT goes into an output
// hold (output-hold.ts) and leaves, in order and under the web server's request id, once the
// body has ended or the worker has ended the request; FCGI_STDERR goes out at once (it is no
// part of the response nginx answers from); the worker's END_REQUEST waits behind the held
// output. relay-request.ts makes one when the first FCGI_STDOUT comes before the body's end.
import { RecordType } from '../../fastcgi/constants.ts';
import { encodeRecord } from '../../fastcgi/record.ts';
import { encodeStream, encodeStreamEnd } from '../../fastcgi/writer.ts';
import { OutputHold, type HoldFiles } from '../../fastcgi/output-hold.ts';

/** Where held output goes: the request's connection (a subset of `RequestHandler`). */
export interface HeldResponseSink {
  write(buffers: readonly Buffer[]): boolean;
  onDrain(resume: () => void): void;
}

/** What a held response tells its request. */
export interface HeldResponseEvents {
  /** `bytes` of FCGI_STDOUT content went to the web server. */
  sent(bytes: number): void;
  /** The spill file failed (the hold dropped everything): the request must be answered 500. */
  failed(err: Error): void;
  /** The held output went out; `endContent` is the worker's END_REQUEST if it came (relay it). */
  released(endContent: Buffer | undefined): void;
}

/** One request's response held until its body has ended (or its worker ended it). */
export class HeldResponse {
  readonly #requestId: number;
  readonly #sink: HeldResponseSink;
  readonly #hold: OutputHold;
  /** The last `output` returned false because of the hold (not the web server's socket). */
  #blocked = false;
  /** The empty FCGI_STDOUT came: it goes out after the held bytes. */
  #stdoutEnded = false;
  #endContent: Buffer | undefined;

  /**
   * @param tempPath - directory of the spill file (`fastcgi_temp_path`)
   * @param files - the file operations (tests inject failures) @defaultValue node:fs/promises
   */
  constructor(requestId: number, sink: HeldResponseSink, tempPath: string, events: HeldResponseEvents, files?: HoldFiles) {
    this.#requestId = requestId;
    this.#sink = sink;
    this.#hold = new OutputHold({
      tempPath,
      send: (data) => {
        events.sent(data.length);
        return sink.write(encodeStream(RecordType.FCGI_STDOUT, requestId, data));
      },
      onDrain: (resume) => { sink.onDrain(resume); },
      failed: (err) => { events.failed(err); },
      released: () => {
        if (this.#stdoutEnded) sink.write([encodeStreamEnd(RecordType.FCGI_STDOUT, requestId)]);
        const endContent = this.#endContent;
        this.#endContent = undefined;
        events.released(endContent);
      },
    }, files);
  }

  /** True while output goes through the hold (kept back or being written out). */
  get active(): boolean {
    return this.#hold.active;
  }

  /**
   * One FCGI_STDOUT / FCGI_STDERR content of the worker.
   * @returns false when the caller must wait for {@link HeldResponse.onDrain}
   */
  output(type: number, content: Buffer): boolean {
    if (!this.#hold.active) return true; // dropped: the rest of the worker's output goes nowhere
    if (type !== RecordType.FCGI_STDOUT) {
      this.#blocked = false;
      return this.#sink.write(encodeRecord(type, this.#requestId, content));
    }
    if (content.length === 0) {
      this.#stdoutEnded = true;
      return true;
    }
    const ok = this.#hold.push(content);
    this.#blocked = !ok;
    return ok;
  }

  /** The body ended: write out what is held, then stream. */
  release(): void {
    this.#hold.release();
  }

  /** The worker's END_REQUEST: the script has ended, so what it wrote goes out, then this. */
  end(content: Buffer): void {
    this.#endContent = content;
    this.#hold.release();
  }

  /** The request is over (answered, aborted): drop what is held, the file with it. */
  drop(): void {
    this.#endContent = undefined;
    this.#hold.drop();
  }

  /**
   * Calls `resume` when the worker may be read again.
   * @returns false when the wait is not the hold's (the web server's socket is full)
   */
  onDrain(resume: () => void): boolean {
    if (!this.#blocked) return false;
    this.#blocked = false;
    this.#hold.whenReady(resume);
    return true;
  }
}
