// This file implements issue 10 item 5 from the perspective of a client that sends each queued
// request's body as one-byte FCGI_STDIN records (1 MiB on the wire: 65,536 records of 16
// bytes): the supervisor held each record as a slice of its socket read plus a Buffer object,
// and counted only the content bytes, so 40 such requests took it from 118 MB to 1.46 GB; a
// 'drain' listener per blocked write raised MaxListenersExceededWarning. Now held STDIN is
// coalesced and bounded in bytes kept alive, the socket paused at the bound: the supervisor's
// VmRSS stays under 200 MB while the requests wait and while they run, each body arrives whole,
// and no warning is printed.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { fcgiRequest, openRawConnection, type RawConnection } from './helpers/fastcgi-client.ts';
import { encodeBeginRequest, encodeNameValuePairs, encodeRecord, FCGI, RecordReader } from './helpers/fastcgi-wire.ts';
import { GateSlot } from './helpers/gate.ts';
import { residentBytes } from './helpers/processes.ts';
import { writeScript } from './helpers/scripts.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const WORKERS = 4;
const QUEUED = 40;
const BODY_BYTES = 64 * 1024;
const RSS_LIMIT_BYTES = 200 * 1024 * 1024;
const COUNT_SCRIPT = '#!/bin/sh\n# Written by the test: the length of its body.\nprintf \'Content-Type: text/plain\\r\\n\\r\\n\'\nwc -c | tr -d \' \'\n';

const gate = new GateSlot();
const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ dir, root, fastcgiSocket }) => {
    await gate.open(dir, join(root, 'hold.sh'));
    await writeScript(root, 'count.sh', COUNT_SCRIPT);
    return {
      main: {
        listen: fastcgiSocket, 'listen.mode': '0666', root, match: ['*.sh'], pm: { max_children: WORKERS },
        queue: { max: 100, timeout: '300s' }, request_terminate_timeout: '300s', env: { PATH: '/usr/bin:/bin' },
      },
    };
  },
});

/** One request's body as one-byte STDIN records, then the empty one: 16 bytes per byte. */
const ONE_BYTE_BODY = Buffer.concat([
  ...Array.from({ length: BODY_BYTES }, () => encodeRecord(FCGI.FCGI_STDIN, 1, Buffer.from('a'))),
  encodeRecord(FCGI.FCGI_STDIN, 1),
]);

/** Sends a request for count.sh whose body is {@link ONE_BYTE_BODY}; never waits for the write. */
async function sendOneByteRecords(socketPath: string, root: string): Promise<RawConnection> {
  const conn = await openRawConnection(socketPath);
  const params = nginxLikeParams(root, '/count.sh', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(BODY_BYTES) });
  conn.socket.write(Buffer.concat([
    encodeBeginRequest(1, false),
    encodeRecord(FCGI.FCGI_PARAMS, 1, encodeNameValuePairs(Object.entries(params))),
    encodeRecord(FCGI.FCGI_PARAMS, 1),
  ]));
  conn.socket.write(ONE_BYTE_BODY);
  return conn;
}

/** The body of the CGI response on `conn` once its END_REQUEST came, else undefined. */
function answered(conn: RawConnection): string | undefined {
  const records = new RecordReader().push(conn.received());
  if (!records.some((r) => r.type === FCGI.FCGI_END_REQUEST)) return undefined;
  const stdout = Buffer.concat(records.filter((r) => r.type === FCGI.FCGI_STDOUT).map((r) => r.content));
  return parseCgiResponse(stdout).body.toString();
}

describe('queued requests sending one-byte STDIN records', () => {
  it('keep the supervisor under 200 MB while they wait and run, each body whole, no listener warning', { timeout: 300_000 }, async () => {
    const { daemon, root, fastcgiSocket, dir } = stack();
    const holds = Array.from({ length: WORKERS }, (_, i) => `hold${i}`);
    const held = holds.map((name) =>
      fcgiRequest({ socketPath: fastcgiSocket, params: nginxLikeParams(root, '/hold.sh', { QUERY_STRING: name }), timeoutMs: 300_000 }));
    const conns: RawConnection[] = [];
    let peak = 0;
    const sample = (): void => { peak = Math.max(peak, residentBytes(daemon.pid) ?? 0); };
    try {
      await Promise.all(holds.map((name) => gate.get().waitStarted(name)));
      for (let i = 0; i < QUEUED; i++) conns.push(await sendOneByteRecords(fastcgiSocket, root));
      await waitUntil('every request queued', async () => (await poolStatus(controlSocketIn(dir), 'main')).queueLength === QUEUED, EVENT_TIMEOUT_MS);
      // While they wait: sample until the clients can send no more (every connection paused:
      // what is still unsent stays the same for 2 s).
      let unsent = -1;
      let still = 0;
      await waitUntil('the clients blocked by the paused sockets', () => {
        sample();
        const now = conns.reduce((sum, c) => sum + c.socket.writableLength, 0);
        still = now === unsent ? still + 1 : 0;
        unsent = now;
        return still >= 20;
      }, EVENT_TIMEOUT_MS, 100);
      const waiting = peak;
      expect(waiting, `supervisor VmRSS while ${QUEUED} requests wait`).toBeLessThan(RSS_LIMIT_BYTES);

      await gate.get().release(...holds);
      await waitUntil('every queued request answered', async () => {
        sample();
        await sleep(0);
        return conns.every((c) => answered(c) !== undefined);
      }, 240_000, 100);
      expect(conns.map(answered)).toEqual(conns.map(() => `${BODY_BYTES}\n`));
      expect(peak, 'supervisor VmRSS while they run').toBeLessThan(RSS_LIMIT_BYTES);
      await Promise.all(held);
      expect(daemon.output()).not.toContain('MaxListenersExceededWarning');
    } finally {
      await gate.get().release(...holds);
      for (const conn of conns) conn.destroy();
    }
  });
});
