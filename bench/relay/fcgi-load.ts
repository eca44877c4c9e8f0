// This file implements the relay micro-bench's load from the perspective of the supervisor it
// drives: N kept-alive FastCGI connections, each sending the same pre-encoded nginx-like
// request again as soon as the previous one's FCGI_END_REQUEST arrives, for a bounded time.
// Replies are only walked record by record (no copies), so the client costs little CPU.
import { createConnection, type Socket } from 'node:net';
import { FCGI, walkRecords } from '../../test/integration/helpers/fastcgi-wire.ts';

/** What a load run does. */
export interface FcgiLoad {
  /** The supervisor's listening unix socket. */
  readonly socket: string;
  /** One whole request (BEGIN_REQUEST with FCGI_KEEP_CONN, PARAMS, STDIN), sent as is. */
  readonly request: Buffer;
  /** Connections, each with one request in flight at a time. */
  readonly connections: number;
  /** No request starts after this many milliseconds. */
  readonly durationMs: number;
}

/** What a load run saw. */
export interface FcgiLoadResult {
  /** Requests answered (END_REQUEST received). */
  readonly requests: number;
  /** Requests answered with a `Status: 4xx/5xx` head or a protocol status other than complete, plus socket errors. */
  readonly errors: number;
  /** Milliseconds from the first write to the last answer. */
  readonly elapsedMs: number;
}

/** Per-connection reply walker: counts END_REQUESTs, flags error answers. */
export class ReplyWalker {
  #pending: Buffer = Buffer.alloc(0);
  /** The answer in progress has sent its first STDOUT bytes. */
  #sawStdout = false;
  /** The answer in progress is not an error so far. */
  #ok = true;

  /** Walks `chunk`; calls `onEnd(ok)` for each END_REQUEST. */
  push(chunk: Buffer, onEnd: (ok: boolean) => void): void {
    const data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = walkRecords(data, (record) => {
      const length = record.readUInt16BE(4);
      const type = record.readUInt8(1);
      if (type === FCGI.FCGI_STDOUT && length > 0 && !this.#sawStdout) {
        this.#sawStdout = true;
        this.#ok = !/^Status: [45]/.test(record.toString('latin1', 8, Math.min(8 + length, 24)));
      } else if (type === FCGI.FCGI_END_REQUEST) {
        onEnd(this.#ok && length >= 5 && record.readUInt8(12) === 0);
        this.#sawStdout = false;
        this.#ok = true;
      }
    });
  }
}

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A request still unanswered this long after the last start counts as an error. */
const ANSWER_BOUND_MS = 10_000;

/**
 * Runs the load to its bound; never rejects once every connection is open. Connections still
 * waiting {@link ANSWER_BOUND_MS} after the last start are destroyed and count as errors.
 *
 * @throws Error when a connection cannot be opened
 */
export async function runFcgiLoad(load: FcgiLoad): Promise<FcgiLoadResult> {
  const sockets = await Promise.all(Array.from({ length: load.connections }, () => connect(load.socket)));
  let requests = 0;
  let errors = 0;
  const started = performance.now();
  let last = started;
  const deadline = started + load.durationMs;
  const bound = setTimeout(() => {
    for (const socket of sockets) {
      if (socket.destroyed) continue;
      errors++;
      socket.destroy();
    }
  }, load.durationMs + ANSWER_BOUND_MS);
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          const walker = new ReplyWalker();
          socket.on('data', (chunk: Buffer) => {
            walker.push(chunk, (ok) => {
              requests++;
              if (!ok) errors++;
              last = performance.now();
              if (last < deadline) socket.write(load.request);
              else socket.end();
            });
          });
          socket.on('error', () => {
            errors++;
          });
          socket.on('close', () => {
            resolve();
          });
          socket.write(load.request);
        }),
    ),
  );
  clearTimeout(bound);
  return { requests, errors, elapsedMs: last - started };
}
