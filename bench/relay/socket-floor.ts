// This file implements the relay micro-bench's calibration from the perspective of someone
// weighing the supervisor's µs per request against what the machine allows: two Node processes
// play ping-pong with 64-byte messages over a socketpair (the kind of channel the supervisor
// has to each worker), one message in flight; each side pays one read, one write and one
// epoll wake-up per round trip, the least a process in the data path can cost per request.
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { processCpuUs } from '../proc.ts';

const ECHO = fileURLToPath(new URL('./echo-peer.js', import.meta.url));

/** CPU per round trip, in µs, of each side. */
export interface SocketFloor {
  readonly roundTrips: number;
  /** The process that answers (as a worker or the supervisor does). */
  readonly echoUs: number;
  /** The process that sends and waits (the bench itself). */
  readonly pingUs: number;
}

/**
 * Plays ping-pong for `durationMs` after a 500 ms warm-up.
 *
 * @throws Error when the echo process cannot be started
 */
export async function measureSocketFloor(durationMs: number): Promise<SocketFloor> {
  const child = spawn(process.execPath, [ECHO], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
  const pid = child.pid;
  const channel = child.stdio[3] as Socket | null;
  if (pid === undefined || channel === null) throw new Error('bench relay: echo peer did not start');
  const message = Buffer.alloc(64, 0x2a);
  const play = (ms: number): Promise<number> =>
    new Promise((resolve) => {
      const end = performance.now() + ms;
      let trips = 0;
      const onData = (): void => {
        trips++;
        if (performance.now() < end) channel.write(message);
        else {
          channel.off('data', onData);
          resolve(trips);
        }
      };
      channel.on('data', onData);
      channel.write(message);
    });
  try {
    await play(500);
    const echoBefore = (await processCpuUs(pid)) ?? 0;
    const pingBefore = process.cpuUsage();
    const roundTrips = await play(durationMs);
    const ping = process.cpuUsage(pingBefore);
    const echoUs = ((await processCpuUs(pid)) ?? 0) - echoBefore;
    return { roundTrips, echoUs: echoUs / roundTrips, pingUs: (ping.user + ping.system) / roundTrips };
  } finally {
    channel.destroy();
    child.kill();
  }
}
