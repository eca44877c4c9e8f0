// This file implements the in-memory connections to a handler's `http.Server` from the
// perspective of the handler runtime, which keeps them alive between requests as nginx keeps
// its upstream connections: a new connection per request cost a fifth of a hello-world request
// (Node's per-connection set-up, a parser taken and freed, two streams created and torn down).
import type { Server } from 'node:http';
import { memorySocketPair, type MemorySocket, type SocketAddresses } from './memory-socket.ts';

/** Where one request's response bytes go while it uses a connection. */
export interface Exchange {
  /** Response bytes; call `done` once ready for more (backpressure). */
  data(chunk: Buffer, done: () => void): void;
  /** The connection ended or was reset: no more bytes will come. */
  closed(): void;
}

/**
 * One connection: `client` is the runtime's end (requests written into it, responses handed to
 * the current {@link Exchange}), `server` the end the `http.Server` got.
 */
export class ServerConnection {
  readonly client: MemorySocket;
  readonly server: MemorySocket;
  #exchange: Exchange | undefined;
  #open = true;

  constructor(server: Server, addresses: SocketAddresses) {
    const pair = memorySocketPair(addresses);
    this.client = pair.client;
    this.server = pair.server;
    this.client.receive({
      data: (chunk, done) => {
        if (this.#exchange === undefined) done();
        else this.#exchange.data(chunk, done);
      },
      end: this.#close,
    });
    this.client.once('close', this.#close);
    server.emit('connection', this.server);
  }

  /** False once either end closed: it serves no further request. */
  get open(): boolean {
    return this.#open && !this.client.destroyed;
  }

  /** Sends the response bytes to `exchange` from now on. */
  begin(exchange: Exchange): void {
    this.#exchange = exchange;
  }

  /** The exchange is over: bytes that still come (none, normally) are dropped. */
  end(): void {
    this.#exchange = undefined;
  }

  /** Resets both ends (the handler sees 'close'). */
  destroy(): void {
    this.client.destroy();
  }

  readonly #close = (): void => {
    if (!this.#open) return;
    this.#open = false;
    this.client.destroy();
    this.#exchange?.closed();
  };
}

/**
 * The connections of one handler's server: one per request in flight, idle ones kept for the
 * next request (at most `maxIdle`).
 */
export class ServerConnections {
  readonly #server: Server;
  readonly #maxIdle: number;
  readonly #idle: ServerConnection[] = [];
  readonly #busy = new Set<ServerConnection>();

  constructor(server: Server, maxIdle: number) {
    this.#server = server;
    this.#maxIdle = maxIdle;
  }

  /** An idle open connection, now reporting `addresses`, or a new one. */
  acquire(addresses: SocketAddresses): ServerConnection {
    let connection = this.#idle.pop();
    while (connection !== undefined && !connection.open) connection = this.#idle.pop();
    if (connection === undefined) connection = new ServerConnection(this.#server, addresses);
    else connection.server.setAddresses(addresses);
    this.#busy.add(connection);
    return connection;
  }

  /** Back from a request: kept for the next one when `reusable` and still open, else reset. */
  release(connection: ServerConnection, reusable: boolean): void {
    this.#busy.delete(connection);
    connection.end();
    if (reusable && connection.open && this.#idle.length < this.#maxIdle) this.#idle.push(connection);
    else connection.destroy();
  }

  /** Resets every connection, busy or idle (the runtime closes). */
  destroyAll(): void {
    for (const connection of [...this.#busy, ...this.#idle.splice(0)]) connection.destroy();
    this.#busy.clear();
  }
}
