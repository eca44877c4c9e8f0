// This file implements the tests of the slow-log stack sampler thread from the perspective of a
// worker's main thread (here, the test's own thread): a function busy in a `for (;;)` past the
// timeout is sampled with its name and line though the main thread never yields; a request that
// ends in time is not; an idle main thread gives `paused: false`; and the main thread's writes
// and the thread's never interleave on the shared descriptor (every line whole).
import { write as fsWrite, closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transpileClosure } from './node-harness-test-peer.ts';
import { JsStackSampler } from './stack-sampler.ts';

interface Line { type: string; frames?: { function: string; file: string; line: number }[]; paused?: boolean; n?: number }

let dir: string;
let entry: URL;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-stack-thread-'));
  entry = pathToFileURL(await transpileClosure(fileURLToPath(new URL('./stack-thread.ts', import.meta.url)), dir));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A sampler writing to a fresh file; `lines()` reads what was written. */
async function sampler(name: string, timeoutMs: number): Promise<{ s: JsStackSampler; fd: number; lines: () => Line[] }> {
  const file = join(dir, name);
  const fd = openSync(file, 'w');
  const s = await JsStackSampler.start({ fd, slots: 2, timeoutMs, entry, ownRoot: '/nowhere/' });
  const lines = (): Line[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
  return { s, fd, lines };
}

const waitFor = async <T>(what: string, probe: () => T | undefined): Promise<T> => {
  for (let i = 0; i < 600; i++) {
    const got = probe();
    if (got !== undefined) return got;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${what}`);
};

/** Busy for `ms` (a request slow enough to be sampled, or not). */
function busyFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() <= end) { /* busy */ }
}

/**
 * Busy in a `for (;;)` until `sampled()` says the sample came (checked every 50 ms), at most
 * `boundMs`: the pause lands in this function, or in `sampled` called from it.
 */
function busyInAForLoop(sampled: () => boolean, boundMs: number): number {
  const bound = Date.now() + boundMs;
  let turns = 0;
  let check = Date.now() + 50;
  for (;;) {
    turns += 1;
    const now = Date.now();
    if (now < check) continue;
    if (sampled() || now > bound) return turns;
    check = now + 50;
  }
}

describe('the stack sampler thread', () => {
  it('samples a main thread busy in a for (;;) past the timeout: the function and its file:line', { timeout: 60_000 }, async () => {
    const { s, fd, lines } = await sampler('busy', 100);
    try {
      // Busy until the sample came (the thread writes it while this loop runs), bounded. V8's
      // pause often takes effect at the next function call rather than at the loop's back edge,
      // so the top frames may be the check that reads the samples (node:fs, this file's arrow
      // functions) called from the busy function: the busy function is then below them (the
      // check used to run outside it, and a pause there named only the check; CI failed twice
      // on an assertion that it was one of the top two frames).
      await s.track(0, () => {
        busyInAForLoop(() => lines().length > 0, 30_000);
        return Promise.resolve();
      })(undefined);
      const [line] = lines();
      expect(line?.paused).toBe(true);
      const busy = line?.frames?.find((f) => f.function === 'busyInAForLoop');
      expect(busy?.file).toMatch(/stack-sampler\.test\.ts/);
      expect(busy?.line).toBeGreaterThan(0);
      // Every frame above it is code it called (this file's check or Node's fs), none the
      // test runner's: the sample shows the busy call path, innermost first.
      const frames = line?.frames ?? [];
      const above = frames.slice(0, frames.findIndex((f) => f.function === 'busyInAForLoop'));
      const foreign = above.filter((f) => !f.file.startsWith('node:') && !f.file.endsWith('/stack-sampler.test.ts'));
      expect(foreign, JSON.stringify(frames)).toEqual([]);
    } finally {
      await s.close();
      closeSync(fd);
    }
  });

  it('sends nothing for a request that ended in time, and no frame of a main thread waiting idle', { timeout: 60_000 }, async () => {
    const { s, fd, lines } = await sampler('idle', 300);
    try {
      await s.track(1, () => Promise.resolve())(undefined);
      // Waiting, without polling (the test's own code stays off the main thread meanwhile).
      await s.track(0, () => new Promise((resolve) => setTimeout(resolve, 2000)))(undefined);
      const line = await waitFor('idle sample', () => lines()[0]);
      // The pause found no JavaScript running (paused: false), or only the test runner's own
      // callbacks, Node's timers (cut as outer frames): no frame either way.
      expect(line).toMatchObject({ type: 'stack', frames: [] });
      expect(lines()).toHaveLength(1);
    } finally {
      await s.close();
      closeSync(fd);
    }
  });

  it("never interleaves the main thread's lines with the thread's (one lock for the descriptor)", { timeout: 60_000 }, async () => {
    const { s, fd, lines } = await sampler('lock', 50);
    const big = 'x'.repeat(8192);
    try {
      let written = 0;
      // As the worker's control socket: the kernel usually takes a line at once (released at
      // once); now and then it is left pending and released from the write's callback.
      const writeOne = (n: number): void => {
        s.exclusive((release) => {
          const line = `${JSON.stringify({ type: 'main', n, big })}\n`;
          if (n % 20 !== 19) {
            writeSync(fd, line);
            written += 1;
            release();
            return;
          }
          fsWrite(fd, line, () => {
            written += 1;
            release();
          });
        });
      };
      // Slow requests one after another (a sample each) while the main thread writes.
      for (let round = 0; round < 5; round++) {
        await s.track(0, async () => {
          for (let n = 0; n < 20; n++) writeOne(round * 20 + n);
          busyFor(round % 2 === 0 ? 1000 : 10);
          await new Promise((resolve) => setTimeout(resolve, 20));
        })(undefined);
      }
      await waitFor('every main line', () => (written === 100 ? true : undefined));
      await waitFor('the samples', () => (lines().filter((l) => l.type === 'stack').length >= 3 ? true : undefined));
      const all = lines();
      expect(all.filter((l) => l.type === 'main').map((l) => l.n)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    } finally {
      await s.close();
      closeSync(fd);
    }
  });
});
