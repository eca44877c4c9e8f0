// This file implements a scripted FastCGI web-server peer from the perspective of the responder
// connection's tests: a real unix socket pair (net server on a temporary path), record builders,
// and a client that collects the records it receives. Used by fcgi-connection*.test.ts only.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordType, Role } from '../fastcgi/constants.ts';
import { encodeNameValuePairs } from '../fastcgi/name-value.ts';
import { RecordParser } from '../fastcgi/parser.ts';
import { decodeEndRequestBody, encodeBeginRequestBody, encodeRecord, type FcgiRecord } from '../fastcgi/record.ts';
import { afterEach } from 'vitest';
import { encodeStream, encodeStreamEnd } from '../fastcgi/writer.ts';
import { FcgiResponderConnection, type FcgiConnectionOptions, type FcgiRequest } from './fcgi-connection.ts';

/** BEGIN_REQUEST bytes. */
export function begin(requestId: number, flags = 0, role: number = Role.FCGI_RESPONDER): Buffer {
  return Buffer.concat(
    encodeRecord(RecordType.FCGI_BEGIN_REQUEST, requestId, encodeBeginRequestBody(role, flags)),
  );
}

/** A whole stream (records, then the empty record) of `type`. */
export function stream(type: number, requestId: number, data: Buffer | string, recordBytes = 65528): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += recordBytes) {
    parts.push(...encodeStream(type, requestId, bytes.subarray(i, i + recordBytes)));
  }
  return Buffer.concat([...parts, encodeStreamEnd(type, requestId)]);
}

/** PARAMS records carrying `pairs`, then the empty PARAMS record. */
export function params(requestId: number, pairs: Record<string, string> = { REQUEST_METHOD: 'GET' }): Buffer {
  return stream(RecordType.FCGI_PARAMS, requestId, encodeNameValuePairs(Object.entries(pairs)));
}

/** One record of any type. */
export function record(type: number, requestId: number, content: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat(encodeRecord(type, requestId, content));
}

/** The client (web server) side: sends bytes, collects records. */
export class Peer {
  /** Every record received, in order, with content copied. */
  readonly records: FcgiRecord[] = [];
  readonly errors: Error[] = [];
  ended = false;
  closed = false;
  readonly socket: Socket;
  readonly #listeners = new Set<() => void>();

  constructor(socket: Socket) {
    this.socket = socket;
    const parser = new RecordParser((r) => {
      this.records.push({ ...r, content: Buffer.from(r.content) });
      this.#notify();
    });
    socket.on('data', (chunk: Buffer) => {
      parser.push(chunk);
    });
    socket.on('end', () => {
      this.ended = true;
      this.#notify();
    });
    socket.on('error', (err) => {
      this.errors.push(err);
      this.#notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#notify();
    });
  }

  /** Write `buffers` as one chunk. */
  send(...buffers: Buffer[]): void {
    this.socket.write(Buffer.concat(buffers));
  }

  /** Resolve once `predicate` holds (checked after every event). */
  async until(predicate: () => boolean): Promise<void> {
    while (!predicate()) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.#listeners.delete(wake);
          resolve();
        };
        this.#listeners.add(wake);
      });
    }
  }

  /** The records received of `type` (and `requestId`, when given). */
  of(type: number, requestId?: number): FcgiRecord[] {
    return this.records.filter(
      (r) => r.type === type && (requestId === undefined || r.requestId === requestId),
    );
  }

  /** The concatenated content of a stream's records. */
  text(type: number, requestId: number): Buffer {
    return Buffer.concat(this.of(type, requestId).map((r) => r.content));
  }

  #notify(): void {
    for (const wake of [...this.#listeners]) wake();
  }
}

/** A connected pair: a responder connection on the accepted socket and a {@link Peer}. */
export interface Harness {
  connection: FcgiResponderConnection;
  /** The accepted (responder-side) socket. */
  socket: Socket;
  peer: Peer;
  requests: FcgiRequest[];
  protocolErrors: Error[];
  /** Resolves when the connection emitted 'close'. */
  closed: Promise<void>;
  /** Resolves with the next request (the n-th, counting from 0). */
  request(n?: number): Promise<FcgiRequest>;
  dispose(): Promise<void>;
}

/** Open a unix socket pair on a temporary path and wrap the accepted side. */
export async function open(
  options?: FcgiConnectionOptions,
  serverOptions: { allowHalfOpen?: boolean } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'cgi-fpm-fcgi-'));
  const path = join(dir, 'fcgi.sock');
  const server: Server = createServer(serverOptions);
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = connect(path);
  const socket = await accepted;
  const connection = new FcgiResponderConnection(socket, options);
  const requests: FcgiRequest[] = [];
  const protocolErrors: Error[] = [];
  const peer = new Peer(client);
  const waiters: (() => void)[] = [];
  connection.on('request', (req: FcgiRequest) => {
    requests.push(req);
    for (const wake of waiters.splice(0)) wake();
  });
  connection.on('protocol-error', (err: Error) => {
    protocolErrors.push(err);
  });
  const closed = new Promise<void>((resolve) => connection.once('close', resolve));
  const request = async (n = 0): Promise<FcgiRequest> => {
    while (requests[n] === undefined) await new Promise<void>((resolve) => waiters.push(resolve));
    return requests[n];
  };
  const dispose = async (): Promise<void> => {
    client.destroy();
    socket.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    rmSync(dir, { recursive: true, force: true });
  };
  return { connection, socket, peer, requests, protocolErrors, closed, request, dispose };
}

/** Read a Readable to its end. */
export async function readAll(readable: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Resolve once `predicate` holds, checking every few milliseconds (for state with no event). */
export async function poll(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Registers an `afterEach` that disposes every harness the returned `setup` opened (call once
 * at the top of a test file).
 */
export function harnessSuite(): (...args: Parameters<typeof open>) => Promise<Harness> {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.dispose()));
  });
  return async (...args) => {
    const h = await open(...args);
    harnesses.push(h);
    return h;
  };
}

/** The END_REQUEST bodies the peer received (for request `id`, or all). */
export function endBodies(h: Harness, id?: number): { appStatus: number; protocolStatus: number }[] {
  return h.peer.of(RecordType.FCGI_END_REQUEST, id).map((r) => decodeEndRequestBody(r.content));
}
