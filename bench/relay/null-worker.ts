// This file implements a null worker from the perspective of the relay micro-bench: a process
// the supervisor forks in place of dist/worker/main.js (SupervisorDeps.workerMain) that speaks
// the worker's side of the protocol and nothing more: `pool` in, `ready` out on the control channel; on each
// FastCGI channel (fd 3…), every request is answered the moment its empty FCGI_STDIN arrives,
// with one canned write (STDOUT, empty STDOUT, END_REQUEST), so what is left is the
// supervisor's own cost per relayed request.
import { Socket } from 'node:net';
import { encodeRecord, FCGI } from '../../test/integration/helpers/fastcgi-wire.ts';
import { ControlChannel, SUPERVISOR_LINE_MAX_BYTES } from '../../src/worker/control-channel.ts';
import { HELLO_BODY } from '../workspace.ts';

/** The fd of the first channel, as the real worker reads it (src/worker/ipc.ts CHANNEL_FD). */
const CHANNEL_FD = 3;

/** The reply for request id 0; {@link replyFor} patches the id into each record's header. */
const TEMPLATE = Buffer.concat([
  encodeRecord(FCGI.FCGI_STDOUT, 0, Buffer.from(`Content-Type: text/plain\r\n\r\n${HELLO_BODY}`)),
  encodeRecord(FCGI.FCGI_STDOUT, 0),
  encodeRecord(FCGI.FCGI_END_REQUEST, 0, Buffer.alloc(8)),
]);

/** Offsets of the request id field of each record in {@link TEMPLATE}. */
const ID_OFFSETS: number[] = [];
for (let at = 0; at < TEMPLATE.length; at += 8 + TEMPLATE.readUInt16BE(at + 4) + TEMPLATE.readUInt8(at + 6)) {
  ID_OFFSETS.push(at + 2);
}

function replyFor(requestId: number): Buffer {
  const reply = Buffer.from(TEMPLATE);
  for (const at of ID_OFFSETS) reply.writeUInt16BE(requestId, at);
  return reply;
}

/** Answers every request on the channel at `fd`; records split across reads are put together. */
function serve(fd: number): void {
  const channel = new Socket({ fd, readable: true, writable: true });
  let pending: Buffer = Buffer.alloc(0);
  channel.on('data', (chunk: Buffer) => {
    let data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (data.length >= 8) {
      const contentLength = data.readUInt16BE(4);
      const total = 8 + contentLength + data.readUInt8(6);
      if (data.length < total) break;
      if (data.readUInt8(1) === FCGI.FCGI_STDIN && contentLength === 0)
        channel.write(replyFor(data.readUInt16BE(2)));
      data = data.subarray(total);
    }
    pending = data;
  });
  channel.on('error', () => process.exit(1));
}

/** The channels a worker of this pool reads: `handler.concurrency` for a handler pool, else 1. */
function channelCount(pool: { runtime?: string; handler?: { concurrency?: number } }): number {
  return pool.runtime === 'handler' ? (pool.handler?.concurrency ?? 1) : 1;
}

// The control channel: the fd the supervisor names in the first argument (JSON lines).
const control = new ControlChannel(new Socket({ fd: Number(process.argv[2]), readable: true, writable: true }), {
  message: (raw) => {
    const message = raw as { type?: string; pool?: Parameters<typeof channelCount>[0] };
    if (message.type === 'stop') process.exit(0);
    if (message.type !== 'pool' || message.pool === undefined) return;
    for (let i = 0; i < channelCount(message.pool); i++) serve(CHANNEL_FD + i);
    control.send({ type: 'ready' });
  },
  invalid: () => undefined,
  close: () => process.exit(0),
}, SUPERVISOR_LINE_MAX_BYTES);
