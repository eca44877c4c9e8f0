// This file implements bounded load from the perspective of a test that keeps a daemon busy
// while something happens to it (reloads, kills): N concurrent clients, each looping one
// request at a time, every request bounded by its own timeout, the loop bounded by a duration
// and a request count, and every response checked (a failure is recorded, never thrown).
import type { HttpResponse } from './http.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './wait.ts';

/** Options for {@link runLoad}. */
export interface LoadOptions {
  /** Concurrent clients. */
  readonly clients: number;
  /** A client starts no new request after this many milliseconds since the start. */
  readonly durationMs: number;
  /** A client sends at most this many requests. @defaultValue Infinity */
  readonly maxRequestsPerClient?: number;
  /**
   * Also keep going (up to `durationMs`) until this returns false; checked before each
   * request. @defaultValue `() => true`
   */
  readonly more?: () => boolean;
  /** Sends request `i` of `client`; must bound its own time (`timeoutMs`). */
  readonly send: (client: number, i: number) => Promise<HttpResponse>;
  /** Checks a response: a description of what is wrong with it, or undefined when right. */
  readonly check: (response: HttpResponse, client: number, i: number) => string | undefined;
}

/** What a load run saw. */
export interface LoadResult {
  /** Requests sent. */
  readonly total: number;
  /** Requests answered right. */
  readonly ok: number;
  /** One line per failed request: which, when (ms since start), and why. */
  readonly failures: readonly string[];
  /** Milliseconds the run took. */
  readonly elapsedMs: number;
}

/** Runs the load to its bounds and resolves with what it saw; never rejects. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const max = options.maxRequestsPerClient ?? Number.POSITIVE_INFINITY;
  const more = options.more ?? (() => true);
  const failures: string[] = [];
  let total = 0;
  let ok = 0;
  const client = async (c: number): Promise<void> => {
    for (let i = 0; i < max && Date.now() - started < options.durationMs && more(); i++) {
      total += 1;
      const at = Date.now() - started;
      try {
        const response = await options.send(c, i);
        const wrong = options.check(response, c, i);
        if (wrong === undefined) ok += 1;
        else failures.push(`client ${c} request ${i} at ${at} ms: ${wrong}`);
      } catch (err) {
        failures.push(`client ${c} request ${i} at ${at} ms: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, c) => client(c)));
  return { total, ok, failures, elapsedMs: Date.now() - started };
}

/** A check for a `200` whose body is exactly `body`. */
export function expect200(response: HttpResponse, body: string): string | undefined {
  if (response.status === 200 && response.text === body) return undefined;
  return `status ${response.status}, body ${JSON.stringify(response.text.slice(0, 200))} (wanted 200 ${JSON.stringify(body)})`;
}

/**
 * The right answers of a load, counted as they come, so that a test can pace what it does to
 * the daemon by the load's progress instead of by the clock.
 */
export class LoadProgress {
  /** Requests answered right so far. */
  answered = 0;

  /** Wraps a {@link LoadOptions.check}: the answers it passes are counted. */
  counting(check: LoadOptions['check']): LoadOptions['check'] {
    return (response, client, i) => {
      const wrong = check(response, client, i);
      if (wrong === undefined) this.answered += 1;
      return wrong;
    };
  }

  /**
   * Resolves once `count` more requests have been answered right than when it was called.
   *
   * @throws Error when that takes longer than {@link EVENT_TIMEOUT_MS} (the load stalled)
   */
  async more(count: number, what: string): Promise<void> {
    const from = this.answered;
    await waitUntil(
      `${what}: ${count} more requests answered`,
      () => this.answered >= from + count,
      EVENT_TIMEOUT_MS,
      10,
    );
  }
}
