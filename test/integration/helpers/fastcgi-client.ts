// This file implements a raw FastCGI client from the perspective of a test that bypasses nginx:
// it connects to the daemon's unix socket, sends hand-built records (or garbage), and reads the
// reply records, with a bound on every wait.
import { createConnection, type Socket } from 'node:net';
import { decodeEndRequest, encodeRequest, FCGI, RecordReader, type WireRecord } from './fastcgi-wire.ts';
import { EVENT_TIMEOUT_MS } from './wait.ts';

/** Options for {@link fcgiRequest}. */
export interface FcgiRequestOptions {
  /** The daemon's FastCGI unix socket. */
  readonly socketPath: string;
  /** CGI params in the order sent (nginx sends them all in one record; so do we); a Buffer is sent as its bytes. */
  readonly params: Readonly<Record<string, string | Buffer>>;
  /** Request body. @defaultValue empty */
  readonly stdin?: Buffer;
  /** One PARAMS record per pair (Apache mod_proxy_fcgi style). @defaultValue false */
  readonly paramsPerRecord?: boolean;
  /** Request id. @defaultValue 1 (as nginx) */
  readonly requestId?: number;
  /** Bound on the whole exchange, in milliseconds. @defaultValue 30000 */
  readonly timeoutMs?: number;
}

/** What came back for one request. */
export interface FcgiResponse {
  /** Concatenated FCGI_STDOUT content (CGI head + body). */
  readonly stdout: Buffer;
  /** Concatenated FCGI_STDERR content. */
  readonly stderr: Buffer;
  /** From FCGI_END_REQUEST. */
  readonly appStatus: number;
  /** From FCGI_END_REQUEST (0 = FCGI_REQUEST_COMPLETE). */
  readonly protocolStatus: number;
  /** Every record received, in order. */
  readonly records: readonly WireRecord[];
}

/** A connected socket with its received bytes and close time recorded. */
export interface RawConnection {
  readonly socket: Socket;
  /** Every byte received so far. */
  received(): Buffer;
  /** Resolves when the peer closed (or the socket errored), with the ms since connect. */
  readonly closed: Promise<{ readonly afterMs: number; readonly error: Error | undefined }>;
  /** True once the connection is closed. */
  isClosed(): boolean;
  /** Writes bytes; resolves when handed to the kernel, rejects on socket error. */
  write(data: Buffer): Promise<void>;
  /** Destroys the socket (idempotent). */
  destroy(): void;
}

/**
 * Connects to `socketPath` and records everything the peer sends until it closes.
 *
 * @param timeoutMs - bound on connecting, in milliseconds @defaultValue {@link EVENT_TIMEOUT_MS}
 */
export function openRawConnection(socketPath: string, timeoutMs = EVENT_TIMEOUT_MS): Promise<RawConnection> {
  return new Promise<RawConnection>((resolve, reject) => {
    const socket = createConnection(socketPath);
    const started = Date.now();
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy(new Error(`fastcgi: connect to ${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let closeError: Error | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err) => {
      closeError = err;
    });
    const closedPromise = new Promise<{ afterMs: number; error: Error | undefined }>((resolveClosed) => {
      socket.once('close', () => {
        closed = true;
        resolveClosed({ afterMs: Date.now() - started, error: closeError });
      });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve({
        socket,
        received: () => Buffer.concat(chunks),
        closed: closedPromise,
        isClosed: () => closed,
        write: (data) =>
          new Promise<void>((resolveWrite, rejectWrite) => {
            socket.write(data, (err) => {
              if (err) rejectWrite(err);
              else resolveWrite();
            });
          }),
        destroy: () => socket.destroy(),
      });
    });
  });
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Sends one responder request on a new connection (without FCGI_KEEP_CONN) and resolves at
 * FCGI_END_REQUEST with everything received.
 *
 * @throws Error when the connection closes before END_REQUEST or `timeoutMs` passes
 */
export async function fcgiRequest(options: FcgiRequestOptions): Promise<FcgiResponse> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const requestId = options.requestId ?? 1;
  const conn = await openRawConnection(options.socketPath, timeoutMs);
  const reader = new RecordReader();
  const records: WireRecord[] = [];
  try {
    return await new Promise<FcgiResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`fastcgi: no END_REQUEST within ${timeoutMs} ms (${records.length} records received)`),
        );
      }, timeoutMs);
      conn.socket.on('data', (chunk: Buffer) => {
        let got: WireRecord[];
        try {
          got = reader.push(chunk);
        } catch (err) {
          clearTimeout(timer);
          reject(toError(err));
          return;
        }
        for (const record of got) {
          records.push(record);
          if (record.type !== FCGI.FCGI_END_REQUEST || record.requestId !== requestId) continue;
          clearTimeout(timer);
          const pick = (type: number): Buffer =>
            Buffer.concat(
              records.filter((r) => r.type === type && r.requestId === requestId).map((r) => r.content),
            );
          resolve({
            stdout: pick(FCGI.FCGI_STDOUT),
            stderr: pick(FCGI.FCGI_STDERR),
            ...decodeEndRequest(record.content),
            records,
          });
        }
      });
      void conn.closed.then(() => {
        clearTimeout(timer);
        reject(
          new Error(`fastcgi: connection closed before END_REQUEST (${records.length} records received)`),
        );
      });
      conn
        .write(
          encodeRequest(
            requestId,
            Object.entries(options.params),
            options.stdin ?? Buffer.alloc(0),
            false,
            options.paramsPerRecord ?? false,
          ),
        )
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(toError(err));
        });
    });
  } finally {
    conn.destroy();
  }
}

/**
 * Runs `attempt` again while its connect fails with EAGAIN: a unix socket refuses a connect at
 * once while its accept queue (`listen.backlog`) is full, which many connections opened (or
 * just closed) in a burst can cause before the daemon has accepted them; nginx would answer
 * 502 and try again. At most 200 tries, 50 ms apart.
 */
export async function connectRetrying<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || tries >= 200) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
