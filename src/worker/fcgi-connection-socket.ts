// This file implements the socket side of a FastCGI responder connection from the perspective of
// the records going out and the bytes coming in: corked writes (one writev per record batch),
// drain waiting, pausing input while a request's stdin is full, and the lingering close.

import type { Duplex } from 'node:stream';

/** What {@link ConnectionSocket} reports to its connection. */
export interface ConnectionSocketEvents {
  /** Bytes read, unless the connection is lingering (then they are discarded). */
  data(chunk: Buffer): void;
  /** The peer sent EOF: no more records will come. */
  end(): void;
  /** The socket closed (after EOF, an error, or a destroy). */
  close(): void;
}

/**
 * A `Duplex` seen as a FastCGI connection's transport. Never throws on socket errors: they end in
 * `close`.
 * @see FastCGI spec §3.5 (closing transport connections)
 */
export class ConnectionSocket {
  readonly #socket: Duplex;
  #drainWaiters: (() => void)[] = [];
  #pausedForStdin = false;
  #lingering = false;
  #peerEnded = false;

  /**
   * @param socket - the connection; read in flowing mode from now on
   * @param events - where reads, EOF and close go
   */
  constructor(socket: Duplex, events: ConnectionSocketEvents) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (!this.#lingering) events.data(chunk);
    });
    socket.on('drain', () => {
      this.#releaseDrainWaiters();
    });
    socket.on('end', () => {
      this.#peerEnded = true;
      events.end();
      this.#destroyIfDone();
    });
    // 'close' follows every socket error and does the cleanup; without a listener an error would throw.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#releaseDrainWaiters();
      events.close();
    });
  }

  /** The peer sent EOF. */
  get peerEnded(): boolean {
    return this.#peerEnded;
  }

  /** {@link ConnectionSocket.linger} was called: input is discarded. */
  get lingering(): boolean {
    return this.#lingering;
  }

  /**
   * Write whole records in one corked batch (one writev for headers, payload slices, padding).
   * Dropped silently once the socket is closed or half-closed.
   * @returns false when the socket asks to wait for 'drain' (see {@link ConnectionSocket.whenDrained})
   */
  write(buffers: readonly Buffer[]): boolean {
    const socket = this.#socket;
    if (!socket.writable) return true; // nothing will drain: do not make the writer wait
    socket.cork();
    let ok = true;
    for (const buffer of buffers) ok = socket.write(buffer);
    socket.uncork();
    return ok;
  }

  /**
   * Call `callback` once the socket has drained, or closed. Only after {@link ConnectionSocket.write}
   * returned false, so a 'drain' or a 'close' is sure to come.
   */
  whenDrained(callback: () => void): void {
    this.#drainWaiters.push(callback);
  }

  /** Stop reading because a request's stdin is over its highWaterMark. */
  pauseForStdin(): void {
    if (this.#pausedForStdin) return;
    this.#pausedForStdin = true;
    this.#socket.pause();
  }

  /** Read again after {@link ConnectionSocket.pauseForStdin}; no-op otherwise. */
  resumeInput(): void {
    if (!this.#pausedForStdin) return;
    this.#pausedForStdin = false;
    this.#socket.resume();
  }

  /**
   * Lingering close: end the write side after what was written, keep reading and discarding
   * until EOF, then destroy. Closing with unread input would make the kernel reset the peer,
   * and nginx would log a 502 or cut the response (node-fastcgi: audit A-4).
   */
  linger(): void {
    if (this.#lingering) return;
    this.#lingering = true;
    this.resumeInput();
    this.#socket.end(() => {
      this.#destroyIfDone();
    });
  }

  /** Close at once (protocol errors); unread input may reset the peer, which is acceptable then. */
  destroy(): void {
    this.#socket.destroy();
  }

  #destroyIfDone(): void {
    if (this.#peerEnded && this.#socket.writableFinished) this.#socket.destroy();
  }

  #releaseDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) waiter();
  }
}
