// This file implements an in-memory connection from the perspective of the handler runtime,
// which gives a never-listening `http.Server` one connection per request: two connected
// Duplex ends (what one end writes, the other reads) with backpressure, half-close and reset,
// and the parts of the `net.Socket` API request handlers touch (addresses, `setTimeout`).
import { isIP } from 'node:net';
import { Duplex } from 'node:stream';

/** The addresses one end reports, as a `net.Socket` would. */
export interface SocketAddresses {
  /** The peer's address (`REMOTE_ADDR` on the server end). */
  readonly remoteAddress?: string | undefined;
  /** The peer's port (`REMOTE_PORT` on the server end). */
  readonly remotePort?: number | undefined;
  /** This end's address (`SERVER_ADDR` on the server end). */
  readonly localAddress?: string | undefined;
  /** This end's port (`SERVER_PORT` on the server end). */
  readonly localPort?: number | undefined;
  /**
   * The connection came over TLS (`HTTPS=on`): exposed as `encrypted`, which Express reads for
   * `req.protocol` and `req.secure`, as on a `tls.TLSSocket`.
   * @defaultValue `false`
   */
  readonly encrypted?: boolean;
}

/**
 * Takes the bytes the peer writes as they come, instead of this end's readable side (see
 * {@link MemorySocket.receive}).
 */
export interface Receiver {
  /** A chunk the peer wrote; call `done` once ready for the next one (backpressure). */
  data(chunk: Buffer, done: () => void): void;
  /** The peer called `end()`. */
  end(): void;
}

/**
 * One end of an in-memory connection. Writes are pushed into the peer's readable side; when the
 * peer's buffer is full the write's callback waits for the peer's next `_read` (backpressure).
 * `end()` is a half-close (the peer reads EOF); `destroy()` is a reset (both ends close, no
 * error event: an HTTP parser on the other end reports the hang-up itself).
 */
export class MemorySocket extends Duplex {
  #addresses: SocketAddresses = {};
  #peer: MemorySocket | undefined;
  #receiver: Receiver | undefined;
  /** The peer's write callback, held until this end reads again. */
  #blockedWrite: (() => void) | undefined;
  #timeoutMs = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(addresses: SocketAddresses = {}) {
    super({ allowHalfOpen: true });
    this.setAddresses(addresses);
    // Nothing here emits 'error' on purpose; a listener keeps a stray one from crashing the worker.
    this.on('error', () => undefined);
  }

  /** @see SocketAddresses.remoteAddress */
  get remoteAddress(): string | undefined {
    return this.#addresses.remoteAddress;
  }

  /** @see SocketAddresses.remotePort */
  get remotePort(): number | undefined {
    return this.#addresses.remotePort;
  }

  /** `'IPv4'` or `'IPv6'` for an IP `remoteAddress`, else `undefined`. */
  get remoteFamily(): string | undefined {
    const address = this.#addresses.remoteAddress;
    const family = address === undefined ? 0 : isIP(address);
    return family === 0 ? undefined : `IPv${family}`;
  }

  /** @see SocketAddresses.localAddress */
  get localAddress(): string | undefined {
    return this.#addresses.localAddress;
  }

  /** @see SocketAddresses.localPort */
  get localPort(): number | undefined {
    return this.#addresses.localPort;
  }

  /** @see SocketAddresses.encrypted */
  get encrypted(): boolean {
    return this.#addresses.encrypted ?? false;
  }

  /**
   * Sets the addresses this end reports: a connection kept for the next request reports that
   * request's client, as a proxy's kept-alive connection carries many clients' requests.
   */
  setAddresses(addresses: SocketAddresses): void {
    this.#addresses = addresses;
  }

  /**
   * Hands what the peer writes to `receiver` directly, skipping this end's readable side (no
   * buffering, no 'data' events): for the runtime's end, which only parses what it reads.
   */
  receive(receiver: Receiver): void {
    this.#receiver = receiver;
  }

  /** Connects `a` and `b` to each other (once). */
  static connect(a: MemorySocket, b: MemorySocket): void {
    if (a.#peer !== undefined || b.#peer !== undefined)
      throw new TypeError('memory socket: already connected');
    a.#peer = b;
    b.#peer = a;
  }

  /**
   * Emits `'timeout'` after `ms` without bytes in either direction, as `net.Socket` does
   * (`req.setTimeout()` lands here); `0` turns it off.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (callback !== undefined) this.once('timeout', callback);
    this.#timeoutMs = ms;
    this.#touch();
    return this;
  }

  /** No-op (no Nagle here); for `net.Socket` compatibility. */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  /** No-op (no TCP here); for `net.Socket` compatibility. */
  setKeepAlive(_enable?: boolean, _initialDelayMs?: number): this {
    return this;
  }

  /** No-op: this end holds no handle that keeps the event loop alive. */
  ref(): this {
    return this;
  }

  /** No-op: this end holds no handle that keeps the event loop alive. */
  unref(): this {
    return this;
  }

  /** This end's address, as `net.Socket#address()` reports it. */
  address(): { address?: string; port?: number; family?: string } {
    const family = this.localAddress === undefined ? 0 : isIP(this.localAddress);
    return {
      ...(this.localAddress === undefined ? {} : { address: this.localAddress }),
      ...(this.localPort === undefined ? {} : { port: this.localPort }),
      ...(family === 0 ? {} : { family: `IPv${family}` }),
    };
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.#peer;
    if (peer === undefined || peer.destroyed) {
      callback();
      return;
    }
    this.#touch();
    peer.#touch();
    if (peer.#receiver !== undefined) {
      peer.#receiver.data(chunk, () => {
        callback();
      });
    }
    else if (peer.push(chunk)) callback();
    else peer.#blockedWrite = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    const peer = this.#peer;
    if (peer !== undefined && !peer.destroyed) {
      if (peer.#receiver !== undefined) peer.#receiver.end();
      else peer.push(null);
    }
    callback();
  }

  override _read(): void {
    this.#releaseWriter();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#timeoutMs = 0;
    this.#releaseWriter();
    const peer = this.#peer;
    if (peer !== undefined && !peer.destroyed) peer.destroy();
    callback(error);
  }

  #releaseWriter(): void {
    const blocked = this.#blockedWrite;
    this.#blockedWrite = undefined;
    blocked?.();
  }

  #touch(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#timeoutMs <= 0 || this.destroyed) return;
    this.#timer = setTimeout(() => this.emit('timeout'), this.#timeoutMs);
    // Like a socket's own timer, it must not keep the worker alive.
    this.#timer.unref();
  }
}

/**
 * Creates a connected pair: `client` for the runtime, which writes the request and reads the
 * response, and `server` for the side handed to `http.Server` by
 * `server.emit('connection', server)`.
 * @param serverAddresses - what the server end reports (the CGI request's addresses).
 */
export function memorySocketPair(serverAddresses: SocketAddresses = {}): {
  client: MemorySocket;
  server: MemorySocket;
} {
  const client = new MemorySocket();
  const server = new MemorySocket(serverAddresses);
  MemorySocket.connect(client, server);
  return { client, server };
}
