// This file implements log collection from the perspective of a test reading a daemon's stdout:
// pino JSON lines split and parsed as they arrive, other lines kept for diagnostics, and
// waiters resolved by the first matching entry (or failed when the process ends).

/** One parsed pino log line. `msg` is the stable lowercase event name. */
export interface LogEntry {
  readonly msg?: string;
  readonly [field: string]: unknown;
}

interface Waiter {
  readonly predicate: (entry: LogEntry) => boolean;
  readonly resolve: (entry: LogEntry) => void;
  readonly reject: (why: string) => void;
}

/** Collects JSON log lines from a text stream fed chunk by chunk. */
export class LogCollector {
  /** Every JSON log line so far, in order. */
  readonly entries: LogEntry[] = [];
  /** Lines that were not JSON objects. */
  readonly otherLines: string[] = [];
  #partial = '';
  #waiters: Waiter[] = [];
  #ended: string | undefined;

  /** Feeds a chunk of stdout text; complete lines are parsed at once. */
  push(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
  }

  /** The stream ended: parse the last partial line and fail every pending waiter with `why`. */
  end(why: string): void {
    this.#line(this.#partial);
    this.#partial = '';
    this.#ended = why;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(why);
  }

  /**
   * Resolves with the first entry at index `since` or later satisfying `predicate`, logged
   * already or still to come.
   *
   * @param timeoutMs - bound in milliseconds
   * @param describe - renders the collected output for the rejection message
   * @throws Error when the bound passes or the stream ends first
   */
  waitFor(
    predicate: (entry: LogEntry) => boolean,
    timeoutMs: number,
    since: number,
    describe: () => string,
  ): Promise<LogEntry> {
    const found = this.entries.slice(since).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise<LogEntry>((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`daemon: ${why}\n${describe()}`));
      };
      const waiter: Waiter = {
        predicate,
        resolve: (entry) => {
          clearTimeout(timer);
          resolve(entry);
        },
        reject: fail,
      };
      const timer = setTimeout(() => {
        fail(`log line not seen within ${timeoutMs} ms`);
      }, timeoutMs);
      if (this.#ended !== undefined) fail(this.#ended);
      else this.#waiters.push(waiter);
    });
  }

  #line(line: string): void {
    if (line.trim() === '') return;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      this.otherLines.push(line);
      return;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      this.otherLines.push(line);
      return;
    }
    const log = entry as LogEntry;
    this.entries.push(log);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.predicate(log)) return true;
      w.resolve(log);
      return false;
    });
  }
}
