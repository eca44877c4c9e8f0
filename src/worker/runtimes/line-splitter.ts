// This file implements stderr line splitting from the perspective of a runtime that logs what
// a script writes to stderr one line at a time: UTF-8 decoded across chunk boundaries, LF or
// CRLF endings, and a bound so a script that never writes a newline cannot grow memory.
import { StringDecoder } from 'node:string_decoder';

/** Longest line kept, in UTF-16 code units; a longer run is emitted in pieces of this size. */
export const DEFAULT_MAX_LINE_LENGTH = 8192;

/**
 * Splits a byte stream into lines and hands each to `onLine` without its line ending.
 * @example
 * ```ts
 * const lines = new LineSplitter((line) => log.warn({ line }, 'script stderr'));
 * child.stderr.on('data', (chunk: Buffer) => lines.push(chunk));
 * child.stderr.on('end', () => lines.end());
 * ```
 */
export class LineSplitter {
  readonly #onLine: (line: string) => void;
  readonly #maxLength: number;
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';
  #ended = false;

  /**
   * @param onLine - called once per line, ending (LF or CRLF) removed.
   * @param maxLength - longest line, in UTF-16 code units. @defaultValue `8192`
   */
  constructor(onLine: (line: string) => void, maxLength = DEFAULT_MAX_LINE_LENGTH) {
    this.#onLine = onLine;
    this.#maxLength = maxLength;
  }

  /** Feeds bytes; emits every line they complete. Ignored after {@link LineSplitter.end}. */
  push(chunk: Buffer): void {
    if (this.#ended) return;
    const lines = (this.#pending + this.#decoder.write(chunk)).split('\n');
    this.#pending = lines.pop() ?? '';
    for (const line of lines) this.#emit(line.endsWith('\r') ? line.slice(0, -1) : line);
    while (this.#pending.length > this.#maxLength) {
      this.#emit(this.#pending.slice(0, this.#maxLength));
      this.#pending = this.#pending.slice(this.#maxLength);
    }
  }

  /** Emits the last, unterminated line if any. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const rest = this.#pending + this.#decoder.end();
    this.#pending = '';
    if (rest !== '') this.#emit(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
  }

  #emit(line: string): void {
    for (let start = 0; start < line.length || start === 0; start += this.#maxLength) {
      this.#onLine(line.slice(start, start + this.#maxLength));
    }
  }
}
