// This file implements the control channel between the supervisor and one worker, from the
// perspective of either end: JSON messages, one per line, on a socket both ends hold (the last
// fd the supervisor passes the worker). Node's own IPC (`'ipc'` in stdio) is not used: it puts
// `process.send`, `process.channel`, `process.connected`, `process.disconnect` and the 'message'
// events on the worker's `process`, where a script of a `node` or `handler` pool (which runs
// inside the worker) could reach them (issue 10). A script can still write to the descriptor
// itself, as to any descriptor of its process: the supervisor treats what arrives as data.
import type { Socket } from 'node:net';

/** Bound on one line the supervisor reads from a worker (its messages are a few hundred bytes). */
export const WORKER_LINE_MAX_BYTES = 64 * 1024;
/** Bound on one line a worker reads from the supervisor (the pool's config, its `env` included). */
export const SUPERVISOR_LINE_MAX_BYTES = 16 * 1024 * 1024;

/** What a {@link ControlChannel} reports. */
export interface ControlEvents {
  /** One parsed message (any JSON value: the receiver narrows it). */
  message(message: unknown): void;
  /** A line that is not JSON, or one past the bound: `reason` says which. */
  invalid(reason: string): void;
  /** The other end is gone (end of file, error, or {@link ControlChannel.close}). */
  close(): void;
}

/** One end of the control channel. */
export class ControlChannel {
  readonly #socket: Socket;
  readonly #events: ControlEvents;
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The line being received passed the bound: the rest of it is dropped up to its newline. */
  #skipping = false;
  #closed = false;

  constructor(socket: Socket, events: ControlEvents, maxLineBytes: number) {
    this.#socket = socket;
    this.#events = events;
    this.#maxLineBytes = maxLineBytes;
    socket.on('data', (chunk: Buffer) => { this.#receive(chunk); });
    socket.on('error', () => { this.close(); });
    socket.on('close', () => { this.close(); });
    socket.on('end', () => { this.close(); });
  }

  /** True until either end closed it. */
  get open(): boolean {
    return !this.#closed;
  }

  /**
   * Sends `message` as one line; `callback` gets the write's error (or `null`). A closed channel
   * drops the message and reports an error.
   */
  send(message: unknown, callback: (err: Error | null) => void = () => undefined): void {
    if (this.#closed) {
      callback(new Error('control channel closed'));
      return;
    }
    this.#socket.write(`${JSON.stringify(message)}\n`, (err) => { callback(err ?? null); });
  }

  /** Ends the channel once what was sent is out; the other end sees it close. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#socket.end(() => { this.#socket.destroy(); });
    this.#events.close();
  }

  #receive(chunk: Buffer): void {
    let start = 0;
    for (let at = chunk.indexOf(0x0a); at !== -1 && !this.#closed; at = chunk.indexOf(0x0a, start)) {
      this.#pending.push(chunk.subarray(start, at));
      const line = Buffer.concat(this.#pending);
      const skipped = this.#skipping;
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#skipping = false;
      start = at + 1;
      if (!skipped) this.#line(line);
    }
    if (this.#closed || start === chunk.length || this.#skipping) return;
    this.#pending.push(chunk.subarray(start));
    this.#pendingBytes += chunk.length - start;
    if (this.#pendingBytes > this.#maxLineBytes) {
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#skipping = true;
      this.#events.invalid(`line longer than ${String(this.#maxLineBytes)} bytes`);
    }
  }

  #line(line: Buffer): void {
    if (line.length > this.#maxLineBytes) {
      this.#events.invalid(`line longer than ${String(this.#maxLineBytes)} bytes`);
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(line.toString('utf8'));
    } catch {
      this.#events.invalid('not JSON');
      return;
    }
    this.#events.message(message);
  }
}
