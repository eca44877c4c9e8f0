// This file implements the body a request holds before a worker takes it (while it is routed
// or queued), from the perspective of the supervisor's memory: what is counted is what is kept
// alive. A record's content is a slice of the socket read it came in, so keeping a one-byte
// slice kept its whole read (up to 64 KiB) and a Buffer object: 40 queued requests sending
// one-byte STDIN records took the supervisor from 118 MB to 1.46 GB (issue 10, item 5). Small
// contents are now copied into shared blocks (coalesced), and a kept slice counts the read it
// keeps alive.

/** Contents shorter than this are copied into blocks, not kept as slices of their read. */
export const COPY_BELOW_BYTES = 4096;
/**
 * STDIN held per request before a worker takes it, before the socket is paused (research:
 * pitfall 3), in bytes kept alive (small records coalesced).
 */
export const MAX_HELD_BYTES = 64 * 1024;
/** Size of one block small contents are copied into, in bytes. */
export const BLOCK_BYTES = 16 * 1024;

const EMPTY = Buffer.alloc(0);

/** The STDIN contents of one request, in order, held until a worker takes them. */
export class HeldStdin {
  /** Pieces in order: slices of blocks (filled in place) and kept contents. */
  #pieces: Buffer[] = [];
  /** The block being filled, and how far. */
  #block: Buffer | undefined;
  #used = 0;
  /** Where the current block's piece starts (it grows as contents are copied in). */
  #pieceStart = 0;
  #bytes = 0;
  #ended = false;

  /** Bytes kept alive: whole blocks, and the whole read behind each kept slice. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Holds one STDIN content (an empty one ends the body; contents after it are dropped: the
   * stream is over).
   */
  push(content: Buffer): void {
    if (this.#ended) return;
    if (content.length === 0) {
      this.#ended = true;
      return;
    }
    if (content.length >= COPY_BELOW_BYTES) {
      this.#closeBlock();
      this.#pieces.push(content);
      this.#bytes += Math.max(content.length, content.buffer.byteLength);
      return;
    }
    let block = this.#block;
    if (block === undefined || block.length - this.#used < content.length) {
      this.#closeBlock();
      block = Buffer.allocUnsafe(BLOCK_BYTES);
      this.#block = block;
      this.#used = 0;
      this.#pieceStart = 0;
      this.#bytes += BLOCK_BYTES;
    }
    content.copy(block, this.#used);
    this.#used += content.length;
  }

  /**
   * Everything held, in order, for a worker: the body's pieces, then an empty buffer if the
   * body ended. The holder is empty afterwards (and may hold again).
   */
  take(): Buffer[] {
    this.#closeBlock();
    this.#block = undefined;
    const pieces = this.#pieces;
    if (this.#ended) pieces.push(EMPTY);
    this.#pieces = [];
    this.#bytes = 0;
    this.#ended = false;
    return pieces;
  }

  /** Drops everything held. */
  clear(): void {
    this.#pieces = [];
    this.#block = undefined;
    this.#bytes = 0;
  }

  /** The part of the current block filled since its last piece becomes a piece. */
  #closeBlock(): void {
    const block = this.#block;
    if (block === undefined || this.#used === this.#pieceStart) return;
    this.#pieces.push(block.subarray(this.#pieceStart, this.#used));
    this.#pieceStart = this.#used;
  }
}
