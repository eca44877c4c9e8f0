// This file implements issue 15's multiplexing checks from the perspective of a web server that
// multiplexes (HAProxy's `option mpxs-conns`) speaking raw FastCGI to the supervisor: several
// request ids interleaved on one connection, each relayed to its own worker and answered under
// its own id with its own bytes; a slow script, or a script that does not read its body, holds
// up only its own request; GET_VALUES tells the truth; the listener counts what it carried; and
// `cgi-fpm drain` lets the requests of a connection finish before the daemon exits 0.
import { writeFile, chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { runCli } from './helpers/cli.ts';
import { CONTROL_GLOBAL, controlSocketIn, daemonStatus } from './helpers/control.ts';
import { openRawConnection, type RawConnection } from './helpers/fastcgi-client.ts';
import {
  decodeEndRequest, encodeBeginRequest, encodeNameValuePairs, encodeRecord, encodeStream, FCGI, RecordReader, type WireRecord,
} from './helpers/fastcgi-wire.ts';
import { useStack } from './helpers/use-stack.ts';
import { waitUntil } from './helpers/wait.ts';

const stack = useStack({ pool: { pm: { max_children: 3 }, 'queue.max': 10 }, global: CONTROL_GLOBAL });

/** Waits for the file `$HTTP_X_GATE` (bounded: 60 s), then echoes its body. */
const GATED_ECHO = `#!/bin/sh
i=0
while [ ! -e "$HTTP_X_GATE" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'
exec cat
`;

/** A raw connection whose records are parsed as they arrive. */
interface Conn {
  readonly raw: RawConnection;
  readonly records: WireRecord[];
}

async function connect(): Promise<Conn> {
  const raw = await openRawConnection(stack().fastcgiSocket);
  const reader = new RecordReader();
  const records: WireRecord[] = [];
  raw.socket.on('data', (chunk: Buffer) => { for (const r of reader.push(chunk)) records.push(r); });
  return { raw, records };
}

const ended = (c: Conn, id: number): boolean => c.records.some((r) => r.type === FCGI.FCGI_END_REQUEST && r.requestId === id);

async function endOf(c: Conn, id: number): Promise<{ appStatus: number; protocolStatus: number }> {
  const end = await waitUntil(`END_REQUEST ${id}`, () => c.records.find((r) => r.type === FCGI.FCGI_END_REQUEST && r.requestId === id), 60_000, 20);
  return decodeEndRequest(end.content);
}

function stdoutOf(c: Conn, id: number): Buffer {
  return Buffer.concat(c.records.filter((r) => r.type === FCGI.FCGI_STDOUT && r.requestId === id).map((r) => r.content));
}

function params(id: number, script: string, overrides: Record<string, string> = {}): Buffer {
  return encodeStream(FCGI.FCGI_PARAMS, id, encodeNameValuePairs(Object.entries(nginxLikeParams(stack().root, script, overrides))));
}

/** A deterministic body: a lost, repeated or misplaced block changes it. */
function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + seed + (i >> 12)) & 0xff;
  return b;
}

async function gatedScript(): Promise<{ gate: string; open: () => Promise<void> }> {
  const { root, dir } = stack();
  await writeFile(join(root, 'gated-echo.sh'), GATED_ECHO);
  await chmod(join(root, 'gated-echo.sh'), 0o755);
  const gate = join(dir, `gate-${String(Math.random()).slice(2)}`);
  await rm(gate, { force: true });
  return { gate, open: () => writeFile(gate, '') };
}

describe('several requests on one FastCGI connection (multiplexing)', () => {
  it('answers GET_VALUES truthfully: FCGI_MPXS_CONNS=1, FCGI_MAX_REQS = workers + queue, FCGI_MAX_CONNS = listen.max_connections', async () => {
    const c = await connect();
    try {
      await c.raw.write(encodeRecord(FCGI.FCGI_GET_VALUES, 0, encodeNameValuePairs([['FCGI_MPXS_CONNS', ''], ['FCGI_MAX_REQS', ''], ['FCGI_MAX_CONNS', '']])));
      const result = await waitUntil('GET_VALUES_RESULT', () => c.records.find((r) => r.type === FCGI.FCGI_GET_VALUES_RESULT), 10_000, 20);
      // FCGI_MAX_CONNS is the enforced listen.max_connections (default 1000; issue 10.4).
      expect(result.content).toEqual(
        encodeNameValuePairs([['FCGI_MPXS_CONNS', '1'], ['FCGI_MAX_REQS', '13'], ['FCGI_MAX_CONNS', '1000']]),
      );
    } finally {
      c.raw.destroy();
    }
  });

  it('demultiplexes two requests whose records interleave, each with its own body, and counts the sharing', async () => {
    const body = pattern(300_000, 1);
    const half = body.length / 2;
    const c = await connect();
    try {
      const post = { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length) };
      await c.raw.write(Buffer.concat([
        encodeBeginRequest(1, true), encodeBeginRequest(2, true),
        params(2, '/hello.sh'), params(1, '/echo-body.sh', post).subarray(0, 8 + 16), // a record cut in the middle…
      ]));
      await c.raw.write(Buffer.concat([
        params(1, '/echo-body.sh', post).subarray(8 + 16), // …and its rest
        encodeStream(FCGI.FCGI_STDIN, 1, body.subarray(0, half)).subarray(0, -8), // not yet the end of body 1
        encodeStream(FCGI.FCGI_STDIN, 2, Buffer.alloc(0)),
        encodeStream(FCGI.FCGI_STDIN, 1, body.subarray(half)),
      ]));
      expect(await endOf(c, 2)).toEqual({ appStatus: 0, protocolStatus: 0 });
      expect(await endOf(c, 1)).toEqual({ appStatus: 0, protocolStatus: 0 });
      expect(parseCgiResponse(stdoutOf(c, 2)).status).toBe(200);
      const echoed = parseCgiResponse(stdoutOf(c, 1));
      expect(echoed.body.equals(body)).toBe(true);
      expect(c.raw.isClosed()).toBe(false);
      const listener = (await daemonStatus(controlSocketIn(stack().dir))).listeners?.[0];
      expect(listener?.maxConcurrentRequests).toBeGreaterThanOrEqual(2);
      expect(listener?.multiplexedRequests).toBeGreaterThanOrEqual(1);
    } finally {
      c.raw.destroy();
    }
  });

  it('a slow script holds up only its own request: the other one on the connection ends first', async () => {
    const { gate, open } = await gatedScript();
    const c = await connect();
    try {
      await c.raw.write(Buffer.concat([
        encodeBeginRequest(1, true), params(1, '/gated-echo.sh', { HTTP_X_GATE: gate }), encodeStream(FCGI.FCGI_STDIN, 1, Buffer.alloc(0)),
        encodeBeginRequest(2, true), params(2, '/hello.sh'), encodeStream(FCGI.FCGI_STDIN, 2, Buffer.alloc(0)),
      ]));
      await endOf(c, 2);
      expect(ended(c, 1)).toBe(false); // still behind its gate
      expect(parseCgiResponse(stdoutOf(c, 2)).status).toBe(200);
      await open();
      expect(await endOf(c, 1)).toEqual({ appStatus: 0, protocolStatus: 0 });
      expect(parseCgiResponse(stdoutOf(c, 1)).status).toBe(200);
    } finally {
      c.raw.destroy();
    }
  });

  it('a script that does not read its body yet does not stop the connection: a later request ends, then the body arrives whole', async () => {
    const { gate, open } = await gatedScript();
    // More than the pipe, the worker's buffer and the socketpair hold, less than the per-request window.
    const body = pattern(900_000, 2);
    const c = await connect();
    try {
      await c.raw.write(Buffer.concat([
        encodeBeginRequest(1, true),
        params(1, '/gated-echo.sh', { HTTP_X_GATE: gate, REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length) }),
        encodeStream(FCGI.FCGI_STDIN, 1, body),
        encodeBeginRequest(2, true), params(2, '/hello.sh'), encodeStream(FCGI.FCGI_STDIN, 2, Buffer.alloc(0)),
      ]));
      await endOf(c, 2);
      expect(ended(c, 1)).toBe(false);
      await open();
      expect(await endOf(c, 1)).toEqual({ appStatus: 0, protocolStatus: 0 });
      expect(parseCgiResponse(stdoutOf(c, 1)).body.equals(body)).toBe(true);
    } finally {
      c.raw.destroy();
    }
  });

  it('a 10 MiB response and small ones share the connection, every byte under its own id', async () => {
    const c = await connect();
    try {
      await c.raw.write(Buffer.concat([
        encodeBeginRequest(7, true), params(7, '/big-10mb.js'), encodeStream(FCGI.FCGI_STDIN, 7, Buffer.alloc(0)),
        encodeBeginRequest(3, true), params(3, '/hello.sh'), encodeStream(FCGI.FCGI_STDIN, 3, Buffer.alloc(0)),
        encodeBeginRequest(9, true), params(9, '/hello.sh'), encodeStream(FCGI.FCGI_STDIN, 9, Buffer.alloc(0)),
      ]));
      for (const id of [3, 9, 7]) expect(await endOf(c, id)).toEqual({ appStatus: 0, protocolStatus: 0 });
      const big = parseCgiResponse(stdoutOf(c, 7)).body;
      expect(big.length).toBe(10 * 1024 * 1024);
      let wrong = -1;
      for (let i = 0; i < big.length && wrong < 0; i++) if (big[i] !== ((i + 7 * (i >> 16)) & 0xff)) wrong = i;
      expect(wrong).toBe(-1);
      for (const id of [3, 9]) expect(parseCgiResponse(stdoutOf(c, id)).body.toString()).toMatch(/hello/i);
    } finally {
      c.raw.destroy();
    }
  });

  // Last: it drains (and so ends) the suite's daemon.
  it('cgi-fpm drain: no new connections, an open one is still served, in-flight requests finish, then drained and exit 0', async () => {
    const { gate, open } = await gatedScript();
    const { daemon, dir } = stack();
    const c = await connect();
    try {
      await c.raw.write(Buffer.concat([
        encodeBeginRequest(1, true), params(1, '/gated-echo.sh', { HTTP_X_GATE: gate }), encodeStream(FCGI.FCGI_STDIN, 1, Buffer.alloc(0)),
      ]));
      await waitUntil('request 1 running', async () => ((await daemonStatus(controlSocketIn(dir))).pools[0]?.busy ?? 0) > 0, 20_000, 50);
      const drained = runCli(['drain', '-c', daemon.configFile], dir, 60_000);
      await waitUntil('draining', async () => (await daemonStatus(controlSocketIn(dir))).draining === true, 20_000, 50);
      await expect(openRawConnection(stack().fastcgiSocket)).rejects.toThrow();
      // A balancer may still send on a connection it holds: served, not dropped.
      await c.raw.write(Buffer.concat([encodeBeginRequest(2, true), params(2, '/hello.sh'), encodeStream(FCGI.FCGI_STDIN, 2, Buffer.alloc(0))]));
      expect(await endOf(c, 2)).toEqual({ appStatus: 0, protocolStatus: 0 });
      expect(parseCgiResponse(stdoutOf(c, 2)).status).toBe(200);
      expect(ended(c, 1)).toBe(false);
      await open();
      expect(await endOf(c, 1)).toEqual({ appStatus: 0, protocolStatus: 0 });
      expect(parseCgiResponse(stdoutOf(c, 1)).status).toBe(200);
      await c.raw.closed; // idle while draining: the daemon closes it
      expect(await drained).toMatchObject({ code: 0, stdout: 'drained\n' });
      expect((await daemon.exited).code).toBe(0);
    } finally {
      c.raw.destroy();
    }
  });
});
