// This file implements the tests of memory-socket.ts from the perspective of the HTTP server and
// client talking over it: bytes both ways, backpressure, half-close, reset, idle timeout.
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MemorySocket, memorySocketPair } from './memory-socket.ts';

describe('memorySocketPair', () => {
  it('carries bytes both ways', async () => {
    const { client, server } = memorySocketPair();
    client.write('ping');
    expect(String((await once(server, 'data'))[0])).toBe('ping');
    server.write('pong');
    expect(String((await once(client, 'data'))[0])).toBe('pong');
  });

  it('holds the writer while the reader does not read (backpressure), then lets it go', async () => {
    const { client, server } = memorySocketPair();
    let wrote = 0;
    const chunk = Buffer.alloc(64 * 1024);
    while (client.write(chunk)) wrote += chunk.length;
    await delay(10);
    // The reader buffers at most its highWaterMark; the writer buffers its own.
    expect(server.readableLength).toBeLessThanOrEqual(server.readableHighWaterMark + chunk.length);
    expect(wrote).toBeLessThan(256 * 1024);
    const drained = once(client, 'drain');
    server.resume();
    await drained;
  });

  it("hands the peer's writes to a receiver, holding the writer until it is done, and its end()", async () => {
    const { client, server } = memorySocketPair();
    const got: string[] = [];
    let release: (() => void) | undefined;
    let ended = false;
    client.receive({
      data: (chunk, done) => {
        got.push(String(chunk));
        release = done;
      },
      end: () => (ended = true),
    });
    let firstWritten = false;
    server.write('one', () => (firstWritten = true));
    server.write('two');
    await delay(5);
    expect(got).toEqual(['one']);
    expect(firstWritten).toBe(false);
    release?.();
    await delay(5);
    expect(firstWritten).toBe(true);
    expect(got).toEqual(['one', 'two']);
    release?.();
    server.end();
    await delay(5);
    expect(ended).toBe(true);
    expect(client.readableLength).toBe(0);
  });

  it('reports new addresses after setAddresses, as a kept connection carrying another client', () => {
    const socket = new MemorySocket({ remoteAddress: '192.0.2.1', remotePort: 1 });
    socket.setAddresses({ remoteAddress: '2001:db8::2', remotePort: 2, encrypted: true });
    expect([socket.remoteAddress, socket.remotePort, socket.remoteFamily, socket.encrypted]).toEqual([
      '2001:db8::2',
      2,
      'IPv6',
      true,
    ]);
  });

  it('half-closes: end() on one side is EOF on the other, which can still answer', async () => {
    const { client, server } = memorySocketPair();
    server.resume();
    client.end('last');
    await once(server, 'end');
    const received: Buffer[] = [];
    client.on('data', (c: Buffer) => received.push(c));
    server.end('answer');
    await once(client, 'end');
    expect(Buffer.concat(received).toString()).toBe('answer');
  });

  it('resets: destroy() closes both ends without an error event', async () => {
    const { client, server } = memorySocketPair();
    const errors: unknown[] = [];
    server.on('error', (e) => errors.push(e));
    client.destroy();
    await once(server, 'close');
    expect(server.destroyed).toBe(true);
    expect(errors).toEqual([]);
  });

  it('releases a writer held by a reader that is destroyed', async () => {
    const { client, server } = memorySocketPair();
    const chunk = Buffer.alloc(64 * 1024);
    while (client.write(chunk));
    server.destroy();
    await once(client, 'close');
    expect(client.destroyed).toBe(true);
  });

  it('reports the addresses it was given, as net.Socket does', () => {
    const { server } = memorySocketPair({
      remoteAddress: '2001:db8::1',
      remotePort: 5000,
      localAddress: '127.0.0.1',
      localPort: 80,
      encrypted: true,
    });
    expect([server.remoteAddress, server.remotePort, server.remoteFamily, server.encrypted]).toEqual([
      '2001:db8::1',
      5000,
      'IPv6',
      true,
    ]);
    expect(server.address()).toEqual({ address: '127.0.0.1', port: 80, family: 'IPv4' });
    expect(new MemorySocket().address()).toEqual({});
    expect(new MemorySocket({ remoteAddress: 'unix' }).remoteFamily).toBeUndefined();
  });

  it("emits 'timeout' after setTimeout's idle time, reset by traffic, off with 0", async () => {
    const { client, server } = memorySocketPair();
    server.resume();
    let timeouts = 0;
    client.setTimeout(100, () => timeouts++);
    await delay(60);
    client.write('x');
    await delay(60);
    expect(timeouts).toBe(0);
    await delay(100);
    expect(timeouts).toBe(1);
    client.setTimeout(0);
    await delay(120);
    expect(timeouts).toBe(1);
    expect(client.setNoDelay(true).setKeepAlive(true, 1).ref().unref()).toBe(client);
  });

  it('connects a pair only once', () => {
    const { client } = memorySocketPair();
    expect(() => {
      MemorySocket.connect(client, new MemorySocket());
    }).toThrow(TypeError);
  });
});
