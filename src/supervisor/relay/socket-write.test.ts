import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { COPY_MAX_BYTES, totalBytes, writeBuffers } from './socket-write.ts';

/** A socket that records its calls; `write` answers `ok`. */
function fakeSocket(ok = true): { socket: Socket; calls: string[]; written: Buffer[] } {
  const calls: string[] = [];
  const written: Buffer[] = [];
  const socket = {
    write: (b: Buffer) => { calls.push(`write ${String(b.length)}`); written.push(b); return ok; },
    cork: () => { calls.push('cork'); },
    uncork: () => { calls.push('uncork'); },
  } as unknown as Socket;
  return { socket, calls, written };
}

describe('writeBuffers', () => {
  it('writes small parts as one buffer, in order', () => {
    const { socket, calls, written } = fakeSocket();
    const parts = [Buffer.from('abc'), Buffer.from('de'), Buffer.from('f')];
    expect(writeBuffers(socket, parts, totalBytes(parts))).toBe(true);
    expect(calls).toEqual(['write 6']);
    expect(Buffer.concat(written).toString()).toBe('abcdef');
  });

  it('writes one part as it is, and nothing for no parts', () => {
    const { socket, calls, written } = fakeSocket();
    const only = Buffer.from('x');
    writeBuffers(socket, [only], 1);
    expect(written[0]).toBe(only);
    expect(writeBuffers(socket, [], 0)).toBe(true);
    expect(calls).toEqual(['write 1']);
  });

  it('writes large data as its parts, corked (no copy), and says what the last write said', () => {
    const { socket, calls } = fakeSocket(false);
    const parts = [Buffer.alloc(8), Buffer.alloc(COPY_MAX_BYTES), Buffer.alloc(8)];
    expect(writeBuffers(socket, parts, totalBytes(parts))).toBe(false);
    expect(calls).toEqual(['cork', 'write 8', `write ${String(COPY_MAX_BYTES)}`, 'write 8', 'uncork']);
  });
});
