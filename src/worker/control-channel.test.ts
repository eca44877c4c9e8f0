import { PassThrough } from 'node:stream';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ControlChannel } from './control-channel.ts';

function channel(maxLineBytes = 64) {
  const socket = new PassThrough();
  const got: unknown[] = [];
  const invalid: string[] = [];
  let closed = 0;
  const control = new ControlChannel(socket as unknown as Socket, {
    message: (m) => { got.push(m); },
    invalid: (reason) => { invalid.push(reason); },
    close: () => { closed += 1; },
  }, maxLineBytes);
  return { socket, control, got, invalid, closed: () => closed };
}

describe('ControlChannel', () => {
  it('parses one JSON message per line, split across chunks anywhere', () => {
    const { socket, got } = channel();
    socket.emit('data', Buffer.from('{"type":"re'));
    socket.emit('data', Buffer.from('ady"}\n{"type":"stop"}\n{"a"'));
    socket.emit('data', Buffer.from(':1}\n'));
    expect(got).toEqual([{ type: 'ready' }, { type: 'stop' }, { a: 1 }]);
  });

  it('reports a line that is not JSON and goes on with the next', () => {
    const { socket, got, invalid } = channel();
    socket.emit('data', Buffer.from('{"type":\n{"type":"ready"}\n'));
    expect(invalid).toEqual(['not JSON']);
    expect(got).toEqual([{ type: 'ready' }]);
  });

  it('reports a line past the bound once, drops it up to its newline, and goes on', () => {
    const { socket, got, invalid } = channel(16);
    socket.emit('data', Buffer.alloc(40, 0x61));
    expect(invalid).toEqual(['line longer than 16 bytes']);
    socket.emit('data', Buffer.from(`${'b'.repeat(20)}\n{"type":"ready"}\n"${'c'.repeat(20)}"\n`));
    expect(invalid).toEqual(['line longer than 16 bytes', 'line longer than 16 bytes']);
    expect(got).toEqual([{ type: 'ready' }]);
  });

  it('writes each message as one line, and refuses to send once closed', async () => {
    const { socket, control, closed } = channel();
    const out: Buffer[] = [];
    socket.on('data', (c: Buffer) => out.push(c));
    await new Promise<void>((resolve) => { control.send({ type: 'stop' }, () => { resolve(); }); });
    expect(Buffer.concat(out).toString()).toContain('{"type":"stop"}\n');
    control.close();
    expect(control.open).toBe(false);
    expect(closed()).toBe(1);
    const err = await new Promise<Error | null>((resolve) => { control.send({ type: 'stop' }, resolve); });
    expect(err?.message).toBe('control channel closed');
  });
});
