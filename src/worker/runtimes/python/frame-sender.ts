// This file implements the worker's writing end of the channel to a python runner (its fd 3)
// from the perspective of a request feeding it: frames written with backpressure, and a
// request head coalesced with a body that is already there into one write.
import type { Writable } from 'node:stream';
import { encodeFrameHeader } from './frames.ts';

/** Writes frames (see frames.ts) to a runner. */
export class FrameSender {
  readonly #input: Writable;

  /** @param input - the pipe to the runner's fd 3. */
  constructor(input: Writable) {
    this.#input = input;
  }

  /**
   * Writes one frame; false when the pipe is full (wait for {@link FrameSender.drained}).
   * Nothing is written once the pipe is closed (the runner is gone).
   */
  send(type: number, payload?: Buffer): boolean {
    const input = this.#input;
    if (input.destroyed || input.writableEnded) return true;
    input.cork();
    let more = input.write(encodeFrameHeader(type, payload?.length ?? 0));
    if (payload !== undefined && payload.length > 0) more = input.write(payload);
    input.uncork();
    return more;
  }

  /**
   * Holds frames back until the next turn of the event loop, so a request head and a body
   * that is already there go out in one write (one wake-up of the runner instead of two).
   */
  coalesce(): void {
    const input = this.#input;
    input.cork();
    setImmediate(() => {
      input.uncork();
    });
  }

  /** Resolves when the pipe can take more, or is closed. */
  drained(): Promise<void> {
    const input = this.#input;
    if (input.destroyed || !input.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        input.off('drain', done);
        input.off('close', done);
        resolve();
      };
      input.on('drain', done);
      input.on('close', done);
    });
  }

  /** Ends the channel: the runner reads end of file and exits by itself. */
  end(): void {
    this.#input.end();
  }
}
