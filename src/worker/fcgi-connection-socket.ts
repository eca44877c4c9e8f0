// This file implements the socket side of a FastCGI responder connection from the perspective of
// the records going out and the bytes coming in: corked writes (one writev per record batch),
// drain waiting, pausing input while a request's stdin is full, and the lingering close.

import { AsyncResource } from 'node:async_hooks';
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
  /** Records written with {@link ConnectionSocket.writeHeld} wait, corked. */
  #holding = false;
  /** The pending hop of the held records' release, cleared when a `write` releases them first. */
  #immediate: NodeJS.Immediate | undefined;
  /**
   * The connection's own async context: the release of held records is scheduled in it, not in
   * the writer's (a node script's run counts what its code schedules as its own work).
   */
  readonly #scope = new AsyncResource('CGI_FPM_FCGI_OUTPUT');

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
   * Write whole records in one corked batch (one writev for headers, payload slices, padding),
   * together with any records held by {@link ConnectionSocket.writeHeld}.
   * Dropped silently once the socket is closed or half-closed.
   * @returns false when the socket asks to wait for 'drain' (see {@link ConnectionSocket.whenDrained})
   */
  write(buffers: readonly Buffer[]): boolean {
    const ok = this.writeHeld(buffers);
    this.#release();
    return ok;
  }

  /**
   * Write records that may wait for the next {@link ConnectionSocket.write} (a request's
   * END_REQUEST) or for the next turn of the event loop, whichever comes first: a script that
   * prints and ends sends its output and its end in one writev, so the supervisor is woken once.
   * The delay is bounded by one loop turn; backpressure is as for `write`.
   */
  writeHeld(buffers: readonly Buffer[]): boolean {
    const socket = this.#socket;
    if (!socket.writable) return true; // nothing will drain: do not make the writer wait
    if (!this.#holding) {
      this.#holding = true;
      socket.cork();
      // Two hops: the first lands in this turn's check phase, where a run that just ended is
      // wound down (and its END_REQUEST written); the second is the next turn's.
      this.#immediate = this.#scope.runInAsyncScope(() => setImmediate(this.#hop));
    }
    let ok = true;
    for (const buffer of buffers) ok = socket.write(buffer);
    return ok;
  }

  readonly #hop = (): void => {
    this.#immediate = setImmediate(this.#release);
  };

  readonly #release = (): void => {
    if (!this.#holding) return;
    this.#holding = false;
    // Released by a write: no loop turn is spent on the hop still pending.
    const immediate = this.#immediate;
    this.#immediate = undefined;
    if (immediate !== undefined) clearImmediate(immediate);
    this.#socket.uncork();
  };

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
