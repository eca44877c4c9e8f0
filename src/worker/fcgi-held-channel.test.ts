// This file implements the tests of fcgi-held-channel.ts from the perspective of a direct
// worker's request: nothing reaches the connection while the body is open, the request's end
// waits behind what was held, output after the release passes straight through, a request whose
// body ended first makes no hold, and a dropped hold sends nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResponderRequest, type RequestChannel } from './fcgi-connection-request.ts';
import { HeldChannel } from './fcgi-held-channel.ts';

/** A connection's channel that records what reached it, in order. */
function fakeChannel(): RequestChannel & { readonly log: string[] } {
  const log: string[] = [];
  return {
    log,
    write: (buffers) => { log.push(`write ${Buffer.concat(buffers).toString('latin1')}`); return true; },
    writeHeld: (buffers) => { log.push(`held ${Buffer.concat(buffers).toString('latin1')}`); return true; },
    whenDrained: (callback) => { callback(); },
    resumeInput: () => { log.push('resume'); },
    done: () => { log.push('done'); },
  };
}

const REQUEST = new ResponderRequest({ requestId: 1, keepConn: false }, fakeChannel(), 1024);

/** Resolves once `entry` reached the channel (the hold's file operations run in libuv's pool). */
async function settled(channel: { readonly log: string[] }, entry: string): Promise<void> {
  for (let i = 0; i < 5000 && !channel.log.some((line) => line.endsWith(entry)); i++) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('HeldChannel', () => {
  let dir: string;
  const failures: Error[] = [];
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'held-channel-')); failures.length = 0; });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });
  const settings = (): { tempPath: string; failed: (err: Error) => void } => ({ tempPath: dir, failed: (err) => { failures.push(err); } });

  it('holds what a request writes until its body ended, then passes output through', async () => {
    const inner = fakeChannel();
    const held = new HeldChannel(inner, settings());
    held.writeHeld([Buffer.from('head')]);
    held.writeHeld([Buffer.from('body')]);
    expect(inner.log).toEqual([]);
    expect(held.holding).toBe(true);
    held.bodyEnded();
    await settled(inner, 'body');
    expect(inner.log.join('|')).toBe('write headbody');
    expect(held.holding).toBe(false);
    held.writeHeld([Buffer.from('more')]);
    expect(inner.log.at(-1)).toBe('held more');
    expect(failures).toEqual([]);
  });

  it('lets the request\'s end out only after what it held, when it ended before its body did', async () => {
    const inner = fakeChannel();
    const held = new HeldChannel(inner, settings());
    held.writeHeld([Buffer.from('early')]);
    held.write([Buffer.from('END')]);
    held.done(REQUEST);
    await settled(inner, 'done');
    expect(inner.log).toEqual(['write early', 'write END', 'done']);
  });

  it('spills past 64 KiB and writes it all out in order', async () => {
    const inner = fakeChannel();
    const held = new HeldChannel(inner, settings());
    const parts = Array.from({ length: 40 }, (_, i) => Buffer.alloc(10_000, 65 + (i % 26)));
    for (const part of parts) {
      if (!held.writeHeld([part])) await new Promise<void>((resolve) => { held.whenDrained(resolve); });
    }
    held.bodyEnded();
    held.write([Buffer.from('END')]);
    held.done(REQUEST);
    await settled(inner, 'done');
    const out = inner.log.filter((l) => l.startsWith('write ')).map((l) => l.slice(6)).join('');
    expect(out).toBe(Buffer.concat(parts).toString('latin1') + 'END');
  });

  it('makes no hold for a request whose body ended before it wrote (a GET)', () => {
    const inner = fakeChannel();
    const held = new HeldChannel(inner, settings());
    held.bodyEnded();
    held.writeHeld([Buffer.from('answer')]);
    held.write([Buffer.from('END')]);
    held.done(REQUEST);
    expect(inner.log).toEqual(['held answer', 'write END', 'done']);
    expect(held.holding).toBe(false);
  });

  it('sends nothing of a dropped hold', async () => {
    const inner = fakeChannel();
    const held = new HeldChannel(inner, settings());
    held.writeHeld([Buffer.from('lost')]);
    held.drop();
    held.bodyEnded();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(inner.log).toEqual([]);
  });
});
