// This file implements one request on a python runner from the perspective of the python
// runtime: the head and then the body go to the runner (the body as it arrives, with
// backpressure), response frames come back into `req.stdout` (with backpressure), log frames
// become lines, and the run ends on DONE, on the runner's death, or on abort (SIGKILL).
import type { Readable } from 'node:stream';
import { LineSplitter } from '../line-splitter.ts';
import type { RuntimeRequest, RuntimeResult } from '../types.ts';
import type { PythonChild } from './child.ts';
import { Frame, type DoneReport } from './frames.ts';

/**
 * Runs `req` on `child` (a runner that said hello and is not busy), `head` being its encoded
 * REQUEST frame (`encodeRequestHead`); `onDone` hears the DONE frame. Resolves once the script
 * ended (its exit status), or the runner died (its exit code or signal: the caller answers 502
 * if no header went out), or `req.signal` was aborted (the runner's process group is killed:
 * `signal: 'SIGKILL'`). Every response byte the runner sent has been written into
 * `req.stdout` by then; a destination that fails makes the rest be discarded.
 */
export function runRequest(
  child: PythonChild,
  req: RuntimeRequest,
  head: Buffer,
  onDone?: (report: DoneReport) => void,
): Promise<RuntimeResult> {
  return new RequestRun(child, req, head, onDone).result;
}

class RequestRun {
  readonly result: Promise<RuntimeResult>;
  readonly #child: PythonChild;
  readonly #req: RuntimeRequest;
  readonly #lines: LineSplitter;
  #resolve: (result: RuntimeResult) => void = () => undefined;
  #over = false;
  #bodyEnded = false;
  #outputFailed = false;
  /** Set while the runner's output is paused for a full `req.stdout`: resumes it. */
  #unpause: (() => void) | undefined;

  constructor(child: PythonChild, req: RuntimeRequest, head: Buffer, onDone?: (report: DoneReport) => void) {
    this.#child = child;
    this.#req = req;
    this.#lines = new LineSplitter(req.onStderrLine);
    this.result = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    child.attach({
      stdout: (piece) => {
        this.#stdout(piece);
      },
      stderr: (piece) => {
        this.#lines.push(piece);
      },
      done: (report) => {
        onDone?.(report);
        this.#finish({ exitCode: report.exitCode, signal: report.signal });
      },
      line: (line) => {
        req.onStderrLine(line);
      },
      ended: (result) => {
        this.#finish(result);
      },
    });
    if (!child.alive) {
      this.#finish({ exitCode: null, signal: null });
      return;
    }
    req.signal.addEventListener('abort', this.#onAbort, { once: true });
    // The supervisor kills this group should the worker die before the request ends.
    req.onSpawn?.(child.pid);
    child.channel.coalesce();
    child.channel.send(Frame.REQUEST, head);
    this.#feedBody(req.stdin);
    if (req.signal.aborted) this.#onAbort();
  }

  readonly #onAbort = (): void => {
    // The runner's state is unknown mid-script: kill it (its group); `ended` follows.
    this.#child.kill();
  };

  #feedBody(body: Readable): void {
    body.on('error', () => undefined); // a failed body is the end of the body
    body.on('data', this.#onBody);
    body.once('end', this.#endBody);
    body.once('error', this.#endBody);
    if (body.readableEnded) this.#endBody();
  }

  readonly #onBody = (chunk: Buffer): void => {
    if (chunk.length === 0 || this.#child.channel.send(Frame.STDIN, chunk)) return;
    const body = this.#req.stdin;
    body.pause();
    void this.#child.channel.drained().then(() => {
      if (!this.#over) body.resume();
    });
  };

  readonly #endBody = (): void => {
    if (this.#bodyEnded) return;
    this.#bodyEnded = true;
    this.#child.channel.send(Frame.STDIN_END);
  };

  #stdout(piece: Buffer): void {
    const dest = this.#req.stdout;
    if (this.#outputFailed || dest.destroyed || dest.writableEnded || dest.errored !== null) {
      this.#outputFailed = true; // the rest is read and dropped: the runner must never block
      return;
    }
    if (dest.write(piece) || this.#unpause !== undefined) return;
    this.#child.pauseOutput();
    const { signal } = this.#req;
    const unpause = (): void => {
      dest.off('drain', unpause);
      dest.off('close', unpause);
      dest.off('error', unpause);
      signal.removeEventListener('abort', unpause);
      if (this.#unpause !== unpause) return;
      this.#unpause = undefined;
      this.#child.resumeOutput();
    };
    this.#unpause = unpause;
    dest.on('drain', unpause);
    dest.on('close', unpause);
    dest.on('error', unpause);
    signal.addEventListener('abort', unpause, { once: true });
  }

  #finish(result: RuntimeResult): void {
    if (this.#over) return;
    this.#over = true;
    this.#child.attach(undefined);
    this.#req.signal.removeEventListener('abort', this.#onAbort);
    const body = this.#req.stdin;
    body.off('data', this.#onBody);
    body.off('end', this.#endBody);
    body.off('error', this.#endBody);
    // The runner skips the unread rest of the body up to this mark before the next request.
    this.#endBody();
    body.resume();
    this.#unpause?.();
    this.#lines.end();
    this.#resolve(result);
  }
}
