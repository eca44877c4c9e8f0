// This file implements the response half of a relayed request, from the perspective of the web
// server's FastCGI stream: the worker's FCGI_STDOUT and FCGI_STDERR relabelled to the web
// server's id, the HTTP status read from the first FCGI_STDOUT (head-status.ts), the bytes
// counted, and — while the request's body is still arriving — FCGI_STDOUT kept in an output
// hold (held-response.ts), made only then: a GET, whose empty STDIN comes with its params, costs
// one check per record and no hold. relay-request.ts owns one per request.
import { tmpdir } from 'node:os';
import { RecordType } from '../../fastcgi/constants.ts';
import { encodeRecord } from '../../fastcgi/record.ts';
import { cgiHeadStatus } from './head-status.ts';
import { HeldResponse, type HeldResponseSink } from './held-response.ts';

/** Where the response goes: the request's connection (a subset of `RequestHandler`). */
export interface ResponseSink extends HeldResponseSink {
  /** Where held output spills past 64 KiB (`fastcgi_temp_path`). @defaultValue `os.tmpdir()` */
  readonly tempPath?: string;
}

/** What the response tells its request about its hold (the request itself: no closures). */
export interface ResponseOwner {
  /** The hold's spill file failed (everything held dropped): answer 500. */
  holdFailed(err: Error): void;
  /** The held output went out; `endContent` is the worker's END_REQUEST if it came (relay it). */
  holdReleased(endContent: Buffer | undefined): void;
}

/** The worker's answer to one request, as it goes to the web server. */
export class RelayResponse {
  readonly #requestId: number;
  readonly #sink: ResponseSink;
  readonly #owner: ResponseOwner;
  /** The web server has not sent the empty FCGI_STDIN record yet: FCGI_STDOUT is held. */
  #bodyOpen = true;
  /** The response held back (made by the first FCGI_STDOUT while the body is open). */
  #held: HeldResponse | undefined;
  #status = 0;
  #stdoutBytes = 0;

  constructor(requestId: number, sink: ResponseSink, owner: ResponseOwner) {
    this.#requestId = requestId;
    this.#sink = sink;
    this.#owner = owner;
  }

  /** Bytes of FCGI_STDOUT content sent to the web server (0 = no header went out). */
  get stdoutBytes(): number {
    return this.#stdoutBytes;
  }

  /**
   * The HTTP status of the answer: the supervisor's own, or the one in the worker's first
   * FCGI_STDOUT record (`Status:` line of the normalized CGI head; 200 without one, 302 for a
   * bare `Location:`); 0 before any answer. For the access log and the status page.
   */
  get status(): number {
    return this.#status;
  }

  /** True while output goes through the hold (kept back or being written out). */
  get holding(): boolean {
    return this.#held?.active === true;
  }

  /** The supervisor answers with `status` (kept unless the worker's head went out). */
  answered(status: number): void {
    if (this.#stdoutBytes === 0) this.#status = status;
    this.#held?.drop();
  }

  /** The web server's body ended (the empty FCGI_STDIN): held output goes out. */
  bodyEnded(): void {
    this.#bodyOpen = false;
    this.#held?.release();
  }

  /** The request was aborted: nothing more is held, what was is dropped. */
  aborted(): void {
    this.#bodyOpen = false;
    this.#held?.drop();
  }

  /**
   * One FCGI_STDOUT or FCGI_STDERR content of the worker, under the web server's id; while the
   * body is still arriving, FCGI_STDOUT goes to the hold instead.
   * @returns false when the web server's socket is full or the hold asks to wait
   */
  output(type: number, content: Buffer): boolean {
    if (type === RecordType.FCGI_STDOUT && this.#status === 0 && content.length > 0) this.#status = cgiHeadStatus(content);
    if (this.#held !== undefined || (this.#bodyOpen && type === RecordType.FCGI_STDOUT)) {
      return (this.#held ??= this.#hold()).output(type, content);
    }
    if (type === RecordType.FCGI_STDOUT) this.#stdoutBytes += content.length;
    return this.#sink.write(encodeRecord(type, this.#requestId, content));
  }

  /** The worker's END_REQUEST while output is held: it goes out after the held output. */
  endHeld(content: Buffer): void {
    this.#held?.end(content);
  }

  /**
   * Calls `resume` when the worker's channel may be read again (the hold takes output again).
   * @returns false when the wait is not the hold's
   */
  onDrain(resume: () => void): boolean {
    return this.#held?.onDrain(resume) === true;
  }

  #hold(): HeldResponse {
    return new HeldResponse(this.#requestId, this.#sink, this.#sink.tempPath ?? tmpdir(), {
      sent: (bytes) => { this.#stdoutBytes += bytes; },
      failed: (err) => { this.#owner.holdFailed(err); },
      released: (endContent) => {
        this.#held = undefined;
        this.#owner.holdReleased(endContent);
      },
    });
  }
}
