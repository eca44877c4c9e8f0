// This file implements the hold on a request's response from the perspective of the relay
// between a web server and a worker: FCGI_STDOUT that a script writes before the web server has
// sent the whole request body is kept back (nginx stops sending the body once it has the
// response head: DESIGN.md, "The response waits for the body"), up to 64 KiB in memory and the
// rest in an unlinked temporary file, then written out in order once the body has ended or the
// script has. The file is written and read through libuv's thread pool, never synchronously.
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes of held output kept in memory per request; past it the hold writes to its file. */
export const HOLD_MEMORY_BYTES = 64 * 1024;

/** Bytes read back from the file per step of a release (one FCGI_STDOUT record of 65528 + 8). */
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
 * One request's held response bytes. `push` takes each content in order; when it returns false
 * the caller stops reading the worker until `whenReady` calls back (a file write in flight, or
 * a release under way), so memory stays bounded: {@link HOLD_MEMORY_BYTES}, plus the batch being
 * written and what one more read of the worker's channel brings (≤ 64 KiB each).
 * @see nginx `fastcgi_temp_path`, `fastcgi_max_temp_file_size` (the same idea for responses)
 */
export class OutputHold {
  readonly #target: HoldTarget;
  readonly #files: HoldFiles;
  #phase: HoldPhase = 'holding';
  /** Held bytes not yet in the file, in order. */
  #memory: Buffer[] = [];
  #memoryBytes = 0;
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
    return this.#memoryBytes + this.#fileBytes - this.#sentBytes;
  }

  /**
   * Takes the next response bytes (kept by reference).
   * @returns false when the caller should stop reading the worker until {@link OutputHold.whenReady}
   */
  push(content: Buffer): boolean {
    if (!this.active) return true; // dropped: the request is over
    this.#memory.push(content);
    this.#memoryBytes += content.length;
    if (this.#phase === 'releasing') return false; // appended after what is being written out
    if (this.#memoryBytes < HOLD_MEMORY_BYTES) return true;
    if (!this.#busy) this.#spill();
    return false;
  }

  /** Calls `resume` once the hold takes bytes freely again (at once if it does). */
  whenReady(resume: () => void): void {
    if (this.#blocked()) this.#waiters.push(resume);
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

  /** The request is over (aborted, answered): drop what is held and close the file. */
  drop(): void {
    if (!this.active) return;
    this.#phase = 'dropped';
    this.#memory = [];
    this.#memoryBytes = 0;
    if (!this.#busy) this.#closeFile();
    this.#wake();
  }

  #blocked(): boolean {
    return this.#phase === 'releasing' || (this.#phase === 'holding' && this.#busy);
  }

  /** Moves the bytes in memory to the end of the file (opened on first use). */
  #spill(): void {
    const batch = this.#memory;
    const bytes = this.#memoryBytes;
    this.#memory = [];
    this.#memoryBytes = 0;
    this.#busy = true;
    void this.#append(batch, bytes).then(() => { this.#settled(); }, (err: unknown) => { this.#fail(err); });
  }

  async #append(batch: Buffer[], bytes: number): Promise<void> {
    const file = this.#file ?? (this.#file = await this.#create());
    let written = 0;
    while (written < bytes) {
      // writev may write less than asked (a full disk); the rest is retried, failing with the errno.
      const rest = sliceFrom(batch, written);
      const { bytesWritten } = await file.writev(rest, this.#fileBytes + written);
      if (bytesWritten === 0) throw new Error(`wrote 0 of ${bytes - written} bytes`);
      written += bytesWritten;
    }
    this.#fileBytes += bytes;
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
        if (this.#memoryBytes >= HOLD_MEMORY_BYTES) this.#spill();
        else this.#wake();
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
    const memory = this.#memory;
    this.#memory = [];
    this.#memoryBytes = 0;
    for (const content of memory) this.#target.send(content);
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

/** `buffers` without their first `skip` bytes (slices, no copy). */
function sliceFrom(buffers: readonly Buffer[], skip: number): Buffer[] {
  if (skip === 0) return [...buffers];
  const out: Buffer[] = [];
  let left = skip;
  for (const buffer of buffers) {
    if (left >= buffer.length) {
      left -= buffer.length;
      continue;
    }
    out.push(left > 0 ? buffer.subarray(left) : buffer);
    left = 0;
  }
  return out;
}
