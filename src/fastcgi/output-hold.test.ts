// This file implements the tests of output-hold.ts from the perspective of the relay that feeds
// it: memory stays within one 64 KiB block plus one read while it spills, bytes come out in
// order after a release (file, then memory), a caller told to wait is woken, and a drop or a
// failing file frees memory and closes the file (unlinked as soon as it was made).
import { mkdtemp, open, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HOLD_MEMORY_BYTES, OutputHold, type HoldFiles, type HoldTarget } from './output-hold.ts';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-hold-test-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

interface Sink extends HoldTarget {
  readonly sent: Buffer[];
  readonly events: string[];
  released_: Promise<void>;
}

function sink(options: { full?: boolean } = {}): Sink {
  const sent: Buffer[] = [];
  const events: string[] = [];
  let resolveReleased: () => void = () => undefined;
  const released_ = new Promise<void>((resolve) => { resolveReleased = resolve; });
  return {
    sent, events, released_, tempPath: dir,
    send: (data) => { sent.push(Buffer.from(data)); return options.full !== true; },
    onDrain: (resume) => { events.push('wait drain'); setImmediate(resume); },
    failed: (err) => { events.push(`failed ${err.message}`); },
    released: () => { events.push('released'); resolveReleased(); },
  };
}

/** A pattern that shows any reordering: byte i of piece n is (n * 7 + i) & 0xff. */
function piece(n: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (n * 7 + i) & 0xff;
  return b;
}

/** Feeds pieces as the worker channel does: stops when told to wait, goes on when woken. */
async function feed(hold: OutputHold, pieces: readonly Buffer[], onStep?: () => void): Promise<void> {
  for (const p of pieces) {
    if (!hold.push(p)) await new Promise<void>((resume) => { hold.whenReady(resume); });
    onStep?.();
  }
}

describe('OutputHold', () => {
  it('keeps small output in memory, makes no file, and sends it in order on release', async () => {
    const target = sink();
    const hold = new OutputHold(target);
    expect(hold.push(Buffer.from('Content-Type: text/plain\r\n\r\n'))).toBe(true);
    expect(hold.push(Buffer.from('hello'))).toBe(true);
    expect(target.sent).toEqual([]);
    expect([hold.spilledBytes, hold.memoryBytes]).toEqual([0, HOLD_MEMORY_BYTES]);
    hold.release();
    await target.released_;
    expect(Buffer.concat(target.sent).toString()).toBe('Content-Type: text/plain\r\n\r\nhello');
    expect(hold.active).toBe(false);
    expect(hold.memoryBytes).toBe(0);
  });

  it('spills past 64 KiB, keeps memory within the block and one read, and releases 5 MB in order', async () => {
    const target = sink();
    const hold = new OutputHold(target);
    const pieces = Array.from({ length: 80 }, (_, n) => piece(n, 65_528));
    let maxMemory = 0;
    await feed(hold, pieces, () => { maxMemory = Math.max(maxMemory, hold.memoryBytes); });
    expect(target.sent).toEqual([]); // nothing before the release
    expect(hold.spilledBytes).toBeGreaterThan(4 * 1024 * 1024);
    expect(maxMemory).toBeLessThanOrEqual(HOLD_MEMORY_BYTES + 65_528);
    expect(await readdir(dir)).toEqual([]); // the file was unlinked as soon as it was made
    hold.release();
    await target.released_;
    expect(Buffer.concat(target.sent).equals(Buffer.concat(pieces))).toBe(true);
    expect(target.sent.every((b) => b.length <= 64 * 1024)).toBe(true);
  });

  it('takes output that comes during a release after what was held, making the caller wait', async () => {
    const target = sink();
    const hold = new OutputHold(target);
    const before = Array.from({ length: 4 }, (_, n) => piece(n, 60_000));
    await feed(hold, before);
    hold.release();
    const during = piece(99, 1000);
    expect(hold.push(during)).toBe(false);
    let woken = false;
    hold.whenReady(() => { woken = true; });
    await target.released_;
    expect(woken).toBe(true);
    expect(Buffer.concat(target.sent).equals(Buffer.concat([...before, during]))).toBe(true);
  });

  it('waits for the web server to drain between pieces of the file', async () => {
    const target = sink({ full: true });
    const hold = new OutputHold(target);
    await feed(hold, Array.from({ length: 3 }, (_, n) => piece(n, 65_000)));
    hold.release();
    await target.released_;
    expect(target.events.filter((e) => e === 'wait drain').length).toBeGreaterThan(0);
    expect(Buffer.concat(target.sent).length).toBe(3 * 65_000);
  });

  it('drop frees memory, wakes a waiting caller, closes the file, and sends nothing', async () => {
    const target = sink();
    const closed: string[] = [];
    const files: HoldFiles = {
      open: async (path, flags, mode) => {
        const file = await open(path, flags, mode);
        const close = file.close.bind(file);
        file.close = async () => { closed.push(path); await close(); };
        return file;
      },
      unlink,
    };
    const hold = new OutputHold(target, files);
    let woken = false;
    for (let n = 0; n < 3; n++) {
      if (!hold.push(piece(n, 40_000))) hold.whenReady(() => { woken = true; });
    }
    hold.drop();
    expect(woken).toBe(true);
    expect([hold.active, hold.memoryBytes, hold.push(Buffer.from('late'))]).toEqual([false, 0, true]);
    await expect.poll(() => closed.length).toBe(1);
    hold.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(target.sent).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a file that cannot be made (no such directory) once, drops what it held, and wakes the caller', async () => {
    const target = sink();
    const hold = new OutputHold({ ...target, tempPath: join(dir, 'missing') });
    let woken = false;
    for (let n = 0; n < 2; n++) {
      if (!hold.push(piece(n, 40_000))) hold.whenReady(() => { woken = true; });
    }
    await expect.poll(() => target.events.length).toBe(1);
    expect(target.events[0]).toMatch(/^failed ENOENT/);
    expect([woken, hold.active, hold.memoryBytes]).toEqual([true, false, 0]);
  });

  it('closes the file when it cannot be unlinked', async () => {
    const target = sink();
    const closed: string[] = [];
    const files: HoldFiles = {
      open: async (path, flags, mode) => {
        const file = await open(path, flags, mode);
        const close = file.close.bind(file);
        file.close = async () => { closed.push(path); await close(); };
        return file;
      },
      unlink: () => Promise.reject(new Error('unlink refused')),
    };
    const hold = new OutputHold(target, files);
    hold.push(piece(0, HOLD_MEMORY_BYTES));
    await expect.poll(() => target.events).toEqual(['failed unlink refused']);
    expect(closed).toHaveLength(1);
  });
});
