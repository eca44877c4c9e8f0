// This file implements copying a fetch `Response` body from the perspective of the handler
// runtime: chunks read straight from the web stream's reader into the CGI stdout, waiting for
// 'drain' when stdout asks to, and the stream cancelled on abort. (A `Readable.fromWeb` bridge
// cost four times the CPU of the whole rest of a small response.)
import type { Writable } from 'node:stream';

/** How a body copy ended. */
export type WebBodyEnd =
  | { readonly kind: 'ended' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'failed'; readonly error: unknown };

/**
 * Copies `body` into `stdout` with backpressure. On abort the stream is cancelled and the copy
 * ends at once; when `stdout` fails or closes, the stream is cancelled and the copy ends as
 * `ended` (the caller's output stage reports its own error).
 * @param body - the response body; locked by this call.
 * @param stdout - where the bytes go (never ended here).
 * @param signal - the request's abort signal.
 */
export async function copyWebBody(
  body: ReadableStream<Uint8Array>,
  stdout: Writable,
  signal: AbortSignal,
): Promise<WebBodyEnd> {
  const reader = body.getReader();
  const cancel = (): void => {
    reader.cancel().catch(() => undefined);
  };
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        return signal.aborted ? { kind: 'aborted' } : { kind: 'failed', error };
      }
      if (signal.aborted) return { kind: 'aborted' };
      if (next.done) return { kind: 'ended' };
      const bytes = asBuffer(next.value);
      if (bytes === undefined) {
        cancel();
        return {
          kind: 'failed',
          error: new TypeError(`response body chunk is ${typeof next.value}, not bytes`),
        };
      }
      if (bytes.length > 0 && !stdout.write(bytes)) await drained(stdout, signal);
      if (stdout.destroyed || stdout.writableEnded) {
        cancel();
        return { kind: 'ended' };
      }
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/** The chunk as a Buffer without copying: bytes, or a string (UTF-8) from a lenient stream. */
function asBuffer(chunk: unknown): Buffer | undefined {
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return undefined;
}

/** Resolves on 'drain', 'close' or 'error' of `stdout`, or on abort. */
function drained(stdout: Writable, signal: AbortSignal): Promise<void> {
  if (signal.aborted || stdout.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stdout.off('drain', done);
      stdout.off('close', done);
      stdout.off('error', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    stdout.on('drain', done);
    stdout.on('close', done);
    stdout.on('error', done);
    signal.addEventListener('abort', done);
  });
}
