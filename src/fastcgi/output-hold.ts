// This file implements the hold on a request's response from the perspective of whatever stands
// between the web server and a script: the supervisor's relay (relay/held-response.ts), or a
// worker that accepted the web server's connection itself (worker/fcgi-held-channel.ts, for
// `dispatch = "direct"`). FCGI_STDOUT content that a script writes before the web server has
// sent the whole request body is kept back (nginx stops sending the body once it has the
// response head: DESIGN.md, "The response waits for the body"), copied into one 64 KiB block
// in memory and, past it, appended to an unlinked temporary file, then written out in order once
// the body has ended or the script has. The file is written and read through libuv's thread
// pool, never synchronously, one operation at a time.
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes of held output kept in memory per request; past it the hold writes to its file. */
export const HOLD_MEMORY_BYTES = 64 * 1024;

/** Bytes read back from the file per step of a release. */
const READ_BYTES = 64 * 1024;

/** Where a hold's bytes go once released, and where its file lives. */
export interface HoldTarget {
  /** Writes response bytes to the web server (as FCGI_STDOUT records); false when it must drain. */
  send(data: Buffer): boolean;
  /** Calls `resume` once the web server's socket has drained. */
  onDrain(resume: () => void): void;
  /** The directory of the spill file (`fastcgi_temp_path`). */
  readonly tempPath: string;
  /** The spill file failed (open, write, read): nothing more is sent; the request must end. */
  failed(err: Error): void;
  /** Everything held was sent (in order); output may go straight out from now on. */
  released(): void;
}

/** The file operations a hold uses (node:fs/promises; a test injects failures). */
export interface HoldFiles {
  open(path: string, flags: string, mode: number): Promise<FileHandle>;
  unlink(path: string): Promise<void>;
}

const nodeFiles: HoldFiles = { open, unlink };

/** `holding`: output kept back; `releasing`: being written out; `done`: all out; `dropped`: discarded. */
type HoldPhase = 'holding' | 'releasing' | 'done' | 'dropped';

/**
 * One request's held response bytes. {@link OutputHold.push} takes each content in order; when
 * it returns false the caller stops reading the worker until {@link OutputHold.whenReady} calls
 * back (a file write in flight, or a release under way). Memory per request stays bounded: the
 * {@link HOLD_MEMORY_BYTES} block, plus what the worker's channel brought in the read during
 * which the caller was told to wait (kept by reference, at most one read: ≤ 64 KiB).
 * @see nginx `fastcgi_temp_path`, `fastcgi_buffers` (the same idea, for responses)
 */
export class OutputHold {
  readonly #target: HoldTarget;
  readonly #files: HoldFiles;
  #phase: HoldPhase = 'holding';
  /** Held bytes not yet in the file: `#block[0, #used)`, then `#tail` (came while busy). */
  #block: Buffer | undefined;
  #used = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #file: FileHandle | undefined;
  /** Bytes in the file (written) and bytes of it already sent. */
  #fileBytes = 0;
  #sentBytes = 0;
  /** A file operation is in flight (open, write, read): one at a time. */
  #busy = false;
  #waiters: (() => void)[] = [];

  constructor(target: HoldTarget, files: HoldFiles = nodeFiles) {
    this.#target = target;
    this.#files = files;
  }

  /** True while output must go through the hold (kept back or being released). */
  get active(): boolean {
    return this.#phase === 'holding' || this.#phase === 'releasing';
  }

  /** Bytes held now (memory and file, not yet sent). */
  get heldBytes(): number {
    return this.#used + this.#tailBytes + this.#fileBytes - this.#sentBytes;
  }

  /** Bytes of memory the hold keeps now (its block, and contents kept by reference). */
  get memoryBytes(): number {
    return (this.#block?.length ?? 0) + this.#tailBytes;
  }

  /** Bytes written to the spill file so far (0: no file was made). */
  get spilledBytes(): number {
    return this.#fileBytes;
  }

  /**
   * Takes the next response bytes (copied, or kept by reference while the caller is told to wait).
   * @returns false when the caller should stop reading the worker until {@link OutputHold.whenReady}
   */
  push(content: Buffer): boolean {
    if (!this.active) return true; // dropped: the request is over
    if (this.#phase === 'releasing' || this.#busy) {
      this.#keep(content);
      return false;
    }
    const copied = this.#copy(content);
    if (copied < content.length) this.#keep(content.subarray(copied));
    if (this.#used < HOLD_MEMORY_BYTES) return true;
    this.#spill();
    return false;
  }

  /** Calls `resume` once the hold takes bytes freely again (at once if it does). */
  whenReady(resume: () => void): void {
    if (this.#phase === 'releasing' || (this.#phase === 'holding' && this.#busy)) this.#waiters.push(resume);
    else resume();
  }

  /**
   * Writes everything held to the target, in order, then reports `released` (output then goes
   * straight out). Called when the body has ended or the script has; again is a no-op.
   */
  release(): void {
    if (this.#phase !== 'holding') return;
    this.#phase = 'releasing';
    if (!this.#busy) this.#sendNext();
  }

  /** The request is over (aborted, answered, failed): drop what is held and close the file. */
  drop(): void {
    if (!this.active) return;
    this.#phase = 'dropped';
    this.#block = undefined;
    this.#used = 0;
    this.#tail = [];
    this.#tailBytes = 0;
    if (!this.#busy) this.#closeFile();
    this.#wake();
  }

  #keep(content: Buffer): void {
    this.#tail.push(content);
    this.#tailBytes += content.length;
  }

  /** Copies what fits of `content` into the block. @returns the bytes copied */
  #copy(content: Buffer): number {
    const block = (this.#block ??= Buffer.allocUnsafe(HOLD_MEMORY_BYTES));
    const copied = content.copy(block, this.#used);
    this.#used += copied;
    return copied;
  }

  /** Moves what came while busy into the block; spills again when it fills. @returns true if it did */
  #absorbTail(): boolean {
    const tail = this.#tail;
    this.#tail = [];
    this.#tailBytes = 0;
    for (const content of tail) {
      if (this.#used < HOLD_MEMORY_BYTES) {
        const copied = this.#copy(content);
        if (copied < content.length) this.#keep(content.subarray(copied));
      } else {
        this.#keep(content);
      }
    }
    if (this.#used < HOLD_MEMORY_BYTES) return false;
    this.#spill();
    return true;
  }

  /** Appends the block to the file (opened on first use); the block is reused once written. */
  #spill(): void {
    const block = this.#block;
    if (block === undefined) return;
    this.#busy = true;
    void this.#append(block.subarray(0, this.#used)).then(() => { this.#settled(); }, (err: unknown) => { this.#fail(err); });
  }

  async #append(data: Buffer): Promise<void> {
    const file = this.#file ?? (this.#file = await this.#create());
    let written = 0;
    while (written < data.length) {
      // A write may write less than asked (a full disk): the rest is retried, failing with the errno.
      const { bytesWritten } = await file.write(data, written, data.length - written, this.#fileBytes + written);
      if (bytesWritten === 0) throw new Error(`wrote 0 of ${data.length - written} bytes`);
      written += bytesWritten;
    }
    this.#fileBytes += data.length;
    this.#used = 0;
  }

  /** A private file in the temp dir, unlinked at once: it vanishes with its descriptor. */
  async #create(): Promise<FileHandle> {
    const path = join(this.#target.tempPath, `cgi-fpm-hold-${process.pid}-${randomBytes(8).toString('hex')}`);
    const file = await this.#files.open(path, 'wx+', 0o600);
    try {
      await this.#files.unlink(path);
    } catch (err) {
      await file.close();
      throw err;
    }
    return file;
  }

  /** A file operation finished: go on with what the phase asks. */
  #settled(): void {
    this.#busy = false;
    switch (this.#phase) {
      case 'holding':
        if (!this.#absorbTail()) this.#wake();
        return;
      case 'releasing':
        this.#sendNext();
        return;
      case 'done':
      case 'dropped':
        this.#closeFile();
        return;
    }
  }

  /** One step of a release: the next piece of the file, else the memory, then done. */
  #sendNext(): void {
    if (this.#phase !== 'releasing') return;
    if (this.#sentBytes < this.#fileBytes) {
      this.#busy = true;
      void this.#read().then((piece) => {
        this.#busy = false;
        if (this.#phase !== 'releasing') {
          this.#settled();
          return;
        }
        if (this.#target.send(piece)) this.#sendNext();
        else this.#target.onDrain(() => { this.#sendNext(); });
      }, (err: unknown) => { this.#fail(err); });
      return;
    }
    // What is left in memory is at most the block and one read: sent at once, then the socket's
    // backpressure applies to what the worker sends next.
    if (this.#used > 0 && this.#block !== undefined) this.#target.send(this.#block.subarray(0, this.#used));
    for (const content of this.#tail) this.#target.send(content);
    this.#block = undefined;
    this.#used = 0;
    this.#tail = [];
    this.#tailBytes = 0;
    this.#phase = 'done';
    this.#closeFile();
    this.#target.released();
    this.#wake();
  }

  async #read(): Promise<Buffer> {
    const file = this.#file;
    if (file === undefined) throw new Error('no spill file');
    const length = Math.min(READ_BYTES, this.#fileBytes - this.#sentBytes);
    // A fresh buffer per read: the socket keeps it until it is written.
    const { bytesRead, buffer } = await file.read(Buffer.allocUnsafe(length), 0, length, this.#sentBytes);
    if (bytesRead === 0) throw new Error(`read 0 of ${length} bytes at offset ${this.#sentBytes}`);
    this.#sentBytes += bytesRead;
    return buffer.subarray(0, bytesRead);
  }

  #fail(err: unknown): void {
    this.#busy = false;
    if (!this.active) {
      this.#closeFile();
      return;
    }
    this.drop();
    this.#target.failed(err instanceof Error ? err : new Error(String(err)));
  }

  #closeFile(): void {
    const file = this.#file;
    this.#file = undefined;
    if (file !== undefined) void file.close().catch(() => undefined); // unlinked already: nothing left
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resume of waiters) resume();
  }
}
