// This file implements the response hold of a worker that accepts the web server's connections
// itself (`dispatch = "direct"`) from the perspective of one request's records: nginx and Apache
// send no more of a request's body once they have the response head (docs/DESIGN.md, "The
// response waits for the body"), so what a request writes while its FCGI_STDIN is still open is
// kept back by the same hold the supervisor's relay uses (fastcgi/output-hold.ts: 64 KiB in
// memory, then an unlinked temporary file), and written out in order once the body has ended or
// the request has. A request whose body ended before it wrote anything (every GET) makes no hold.
import { OutputHold, type HoldFiles } from '../fastcgi/output-hold.ts';
import type { RequestChannel, ResponderRequest } from './fcgi-connection-request.ts';

/** Where a held channel's spill file lives and what it reports. */
export interface HoldSettings {
  /** Directory of the spill file. */
  readonly tempPath: string;
  /** The spill file failed (nothing more can be sent in order): the connection must end. */
  readonly failed: (err: Error) => void;
  /** File operations (a test injects failures). @defaultValue node:fs/promises */
  readonly files?: HoldFiles;
}

/**
 * One request's {@link RequestChannel} over the connection's: records pass straight through once
 * {@link HeldChannel.bodyEnded} was called and everything held went out; before that they are
 * held, and the request's end (its last records and `done`) waits behind them.
 */
export class HeldChannel implements RequestChannel {
  readonly #channel: RequestChannel;
  readonly #settings: HoldSettings;
  /** Made at the first write while the body is open. */
  #hold: OutputHold | undefined;
  #bodyOpen = true;
  /** What waits for the release: the request's last records, `done`. */
  #after: (() => void)[] = [];

  constructor(channel: RequestChannel, settings: HoldSettings) {
    this.#channel = channel;
    this.#settings = settings;
  }

  /** True while output is kept back or being written out. */
  get holding(): boolean {
    return this.#hold?.active ?? false;
  }

  write(buffers: readonly Buffer[]): boolean {
    if (!this.holding) return this.#channel.write(buffers);
    // The request's end: after what was held (released now: the script is done).
    this.#after.push(() => { this.#channel.write(buffers); });
    this.#hold?.release();
    return true;
  }

  writeHeld(buffers: readonly Buffer[]): boolean {
    if (!this.#bodyOpen && !this.holding) return this.#channel.writeHeld(buffers);
    const hold = this.#hold ??= this.#makeHold();
    let ok = true;
    for (const buffer of buffers) ok = hold.push(buffer) && ok;
    return ok;
  }

  whenDrained(callback: () => void): void {
    if (this.#hold?.active === true) this.#hold.whenReady(callback);
    else this.#channel.whenDrained(callback);
  }

  resumeInput(): void {
    this.#channel.resumeInput();
  }

  done(request: ResponderRequest): void {
    if (this.holding) this.#after.push(() => { this.#channel.done(request); });
    else this.#channel.done(request);
  }

  /** The empty FCGI_STDIN record came: what was held goes out, then output passes through. */
  bodyEnded(): void {
    this.#bodyOpen = false;
    this.#hold?.release();
  }

  /** The connection is gone: nothing held is kept (its file is closed). */
  drop(): void {
    this.#after = [];
    this.#hold?.drop();
  }

  #makeHold(): OutputHold {
    const channel = this.#channel;
    return new OutputHold({
      send: (data) => channel.write([data]),
      onDrain: (resume) => { channel.whenDrained(resume); },
      tempPath: this.#settings.tempPath,
      failed: (err) => { this.#after = []; this.#settings.failed(err); },
      released: () => {
        const after = this.#after;
        this.#after = [];
        for (const step of after) step();
      },
    }, this.#settings.files);
  }
}
