// This file implements a kept-alive FastCGI connection from the perspective of a raw client
// doing what nginx does with `fastcgi_keep_conn on`: several requests, one after another, on
// one connection with FCGI_KEEP_CONN, which the daemon must keep open between them and after.
import { openRawConnection, type FcgiResponse } from './fastcgi-client.ts';
import {
  decodeEndRequest,
  encodeNameValuePairs,
  encodeRecord,
  encodeRequest,
  FCGI,
  RecordReader,
  type WireRecord,
} from './fastcgi-wire.ts';

/** One request of {@link fcgiKeepConnSequence}. */
export interface SequenceRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly stdin?: Buffer;
}

/**
 * Sends `requests` one after another on ONE connection with FCGI_KEEP_CONN set, as nginx does
 * with `fastcgi_keep_conn on` (each after the previous END_REQUEST, request id 1 each time).
 *
 * @returns every response, and whether the daemon still held the connection open at the end
 *   (it answered an `FCGI_GET_VALUES` sent after the last response on the same connection)
 * @throws Error when the connection closes early or `timeoutMs` (for the whole sequence) passes
 */
export async function fcgiKeepConnSequence(
  socketPath: string,
  requests: readonly SequenceRequest[],
  timeoutMs = 30_000,
): Promise<{ responses: FcgiResponse[]; stillOpen: boolean }> {
  const conn = await openRawConnection(socketPath, timeoutMs);
  const reader = new RecordReader();
  let records: WireRecord[] = [];
  let onEnd: ((response: FcgiResponse) => void) | undefined;
  let onValues: (() => void) | undefined;
  conn.socket.on('data', (chunk: Buffer) => {
    for (const record of reader.push(chunk)) {
      if (record.type === FCGI.FCGI_GET_VALUES_RESULT) {
        onValues?.();
        continue;
      }
      records.push(record);
      if (record.type !== FCGI.FCGI_END_REQUEST) continue;
      const done = records;
      records = [];
      const pick = (type: number): Buffer =>
        Buffer.concat(done.filter((r) => r.type === type).map((r) => r.content));
      onEnd?.({
        stdout: pick(FCGI.FCGI_STDOUT),
        stderr: pick(FCGI.FCGI_STDERR),
        ...decodeEndRequest(record.content),
        records: done,
      });
    }
  });
  const deadline = Date.now() + timeoutMs;
  const responses: FcgiResponse[] = [];
  try {
    for (const [i, request] of requests.entries()) {
      const response = new Promise<FcgiResponse>((resolve, reject) => {
        const timer = setTimeout(
          () => {
            reject(new Error(`fastcgi: keep-conn request ${i}: no END_REQUEST in time`));
          },
          Math.max(0, deadline - Date.now()),
        );
        onEnd = (r) => {
          clearTimeout(timer);
          resolve(r);
        };
        void conn.closed.then(() => {
          clearTimeout(timer);
          reject(new Error(`fastcgi: keep-conn request ${i}: connection closed before END_REQUEST`));
        });
      });
      await conn.write(
        encodeRequest(1, Object.entries(request.params), request.stdin ?? Buffer.alloc(0), true),
      );
      responses.push(await response);
    }
    // Still open: the peer answers a management record on it (a closing one cannot).
    const answered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(
        () => {
          resolve(false);
        },
        Math.max(0, deadline - Date.now()),
      );
      onValues = () => {
        clearTimeout(timer);
        resolve(true);
      };
      void conn.closed.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    const probe = encodeRecord(FCGI.FCGI_GET_VALUES, 0, encodeNameValuePairs([['FCGI_MPXS_CONNS', '']]));
    await conn.write(probe).catch(() => undefined);
    return { responses, stillOpen: await answered };
  } finally {
    conn.destroy();
  }
}
