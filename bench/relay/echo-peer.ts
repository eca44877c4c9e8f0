// This file implements the far end of the relay micro-bench's calibration, from the perspective
// of someone asking what any Node process pays to answer one message from another on this
// machine: it writes back every chunk it reads on fd 3 (a socketpair), nothing else. Its
// parent (socket-floor.ts) reads its CPU from /proc.
import { Socket } from 'node:net';

const channel = new Socket({ fd: 3, readable: true, writable: true });
channel.on('data', (chunk: Buffer) => {
  channel.write(chunk);
});
channel.on('error', () => process.exit(0));
channel.on('end', () => process.exit(0));
