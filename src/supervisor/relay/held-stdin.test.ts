// This file implements the tests of held-stdin.ts from the perspective of the supervisor's
// memory: one-byte records are coalesced into blocks and counted as the blocks, a kept slice is
// counted as the read it keeps alive, and what a worker gets is the body in order.
import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, COPY_BELOW_BYTES, HeldStdin } from './held-stdin.ts';

describe('HeldStdin', () => {
  it('coalesces one-byte contents (each a slice of a 64 KiB read) into blocks, counting the blocks', () => {
    const read = Buffer.alloc(64 * 1024, 0x61);
    const held = new HeldStdin();
    for (let i = 0; i < 40_000; i++) held.push(read.subarray(i, i + 1));
    expect(held.bytes).toBe(Math.ceil(40_000 / BLOCK_BYTES) * BLOCK_BYTES);
    const pieces = held.take();
    expect(pieces.every((p) => p.buffer !== read.buffer)).toBe(true);
    expect(Buffer.concat(pieces).equals(Buffer.alloc(40_000, 0x61))).toBe(true);
    expect(held.bytes).toBe(0);
  });

  it('keeps large contents by reference, counted as the read behind them, in order with copies', () => {
    const read = Buffer.alloc(64 * 1024, 0x62);
    const held = new HeldStdin();
    held.push(Buffer.from('ab'));
    held.push(read.subarray(0, COPY_BELOW_BYTES));
    held.push(Buffer.from('cd'));
    held.push(Buffer.alloc(0));
    held.push(Buffer.from('after the end'));
    expect(held.bytes).toBe(BLOCK_BYTES + read.length);
    const pieces = held.take();
    expect(pieces.map((p) => p.length)).toEqual([2, COPY_BELOW_BYTES, 2, 0]);
    expect(pieces[1]?.buffer).toBe(read.buffer);
    expect(Buffer.concat(pieces).toString('latin1')).toBe(`ab${'b'.repeat(COPY_BELOW_BYTES)}cd`);
  });

  it('drops what it holds on clear', () => {
    const held = new HeldStdin();
    held.push(Buffer.from('x'));
    held.clear();
    expect([held.bytes, held.take()]).toEqual([0, []]);
  });
});
