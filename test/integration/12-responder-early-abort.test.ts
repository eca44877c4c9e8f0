// This file implements issue 12's check of the supervisor's FastCGI responder role from the
// perspective of a web server speaking raw FastCGI to it (nginx never sends FCGI_ABORT_REQUEST,
// so the bytes are hand-built): an abort that comes while the params still arrive, while the
// request is being routed, or while it waits in the queue is answered with FCGI_END_REQUEST
// (spec §5.4), as the worker's copy of the role always did; a repeated BEGIN_REQUEST closes the
// connection as a protocol error; another role without KEEP_CONN gets FCGI_UNKNOWN_ROLE and a close.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { fcgiRequest, openRawConnection, type RawConnection } from './helpers/fastcgi-client.ts';
import {
  decodeEndRequest,
  encodeBeginRequest,
  encodeNameValuePairs,
  encodeRecord,
  encodeRequest,
  FCGI,
  RecordReader,
  type WireRecord,
} from './helpers/fastcgi-wire.ts';
import { waitForEvent } from './helpers/logs.ts';
import { useStack } from './helpers/use-stack.ts';
import { waitUntil } from './helpers/wait.ts';

// One worker: a slow request makes the next one wait in the queue. Multiplexing off (issue 15
// turned it on by default): the last test checks the one-request-at-a-time answers.
const stack = useStack({ pool: { pm: { max_children: 1 }, 'listen.mpxs_conns': false }, global: CONTROL_GLOBAL });

const ABORT = (id: number): Buffer => encodeRecord(FCGI.FCGI_ABORT_REQUEST, id);

/** Every record received on `conn` so far. */
function records(conn: RawConnection): WireRecord[] {
  return new RecordReader().push(conn.received());
}

/** Waits (bounded) until `conn` received an END_REQUEST for `id`; returns it decoded. */
async function endRequestOf(conn: RawConnection, id: number): Promise<{ appStatus: number; protocolStatus: number }> {
  const end = await waitUntil(`END_REQUEST for request ${id}`,
    () => records(conn).find((r) => r.type === FCGI.FCGI_END_REQUEST && r.requestId === id), 10_000, 20);
  return decodeEndRequest(end.content);
}

/** Runs `use` on a new raw connection to the daemon; the connection is destroyed afterwards. */
async function withConnection(use: (conn: RawConnection) => Promise<void>): Promise<void> {
  const conn = await openRawConnection(stack().fastcgiSocket);
  try {
    await use(conn);
  } finally {
    conn.destroy();
  }
}

function params(root: string, script: string, id: number): Buffer {
  return encodeRecord(FCGI.FCGI_PARAMS, id, encodeNameValuePairs(Object.entries(nginxLikeParams(root, script))));
}

describe('the supervisor answers an early FCGI_ABORT_REQUEST with FCGI_END_REQUEST', () => {
  it('while the params still arrive: END_REQUEST, then a close without KEEP_CONN', async () => {
    const { root } = stack();
    await withConnection(async (conn) => {
      await conn.write(Buffer.concat([encodeBeginRequest(1, false), params(root, '/hello.sh', 1), ABORT(1)]));
      expect(await endRequestOf(conn, 1)).toEqual({ appStatus: 0, protocolStatus: 0 });
      await conn.closed;
      expect(records(conn).map((r) => r.type)).toEqual([FCGI.FCGI_END_REQUEST]);
    });
  });

  it('while the params still arrive, with KEEP_CONN: END_REQUEST, and the connection serves the next request', async () => {
    const { root } = stack();
    await withConnection(async (conn) => {
      await conn.write(Buffer.concat([encodeBeginRequest(1, true), params(root, '/hello.sh', 1), ABORT(1)]));
      expect(await endRequestOf(conn, 1)).toEqual({ appStatus: 0, protocolStatus: 0 });
      await conn.write(encodeRequest(2, Object.entries(nginxLikeParams(root, '/hello.sh')), Buffer.alloc(0), true));
      await endRequestOf(conn, 2);
      const stdout = Buffer.concat(records(conn).filter((r) => r.type === FCGI.FCGI_STDOUT && r.requestId === 2).map((r) => r.content));
      expect(parseCgiResponse(stdout).status).toBe(200);
      expect(conn.isClosed()).toBe(false);
    });
  });

  it('while the request is being routed: END_REQUEST, and the script never runs', async () => {
    const { root } = stack();
    await withConnection(async (conn) => {
      // The empty PARAMS record starts routing; the ABORT in the same write finds it there.
      await conn.write(Buffer.concat([
        encodeBeginRequest(1, true), params(root, '/marker.sh', 1), encodeRecord(FCGI.FCGI_PARAMS, 1), ABORT(1),
      ]));
      expect(await endRequestOf(conn, 1)).toEqual({ appStatus: 0, protocolStatus: 0 });
      expect(records(conn).filter((r) => r.type === FCGI.FCGI_STDOUT)).toEqual([]);
      // The next request on the connection runs: nothing of the aborted one is left behind.
      await conn.write(encodeRequest(2, Object.entries(nginxLikeParams(root, '/hello.sh')), Buffer.alloc(0), true));
      await endRequestOf(conn, 2);
      expect(existsSync(join(root, 'marker.sh.ran'))).toBe(false);
    });
  });

  it('while it waits in the queue: END_REQUEST at once, it leaves the queue, the running request is untouched', async () => {
    const { root, fastcgiSocket, dir } = stack();
    const control = controlSocketIn(dir);
    const slow = fcgiRequest({ socketPath: fastcgiSocket, params: nginxLikeParams(root, '/slow-2s.sh'), timeoutMs: 15_000 });
    await waitUntil('the slow request running', async () => (await poolStatus(control, 'main')).busy === 1, 10_000, 20);
    await withConnection(async (conn) => {
      await conn.write(encodeRequest(1, Object.entries(nginxLikeParams(root, '/hello.sh')), Buffer.alloc(0), true));
      await waitUntil('the request queued', async () => (await poolStatus(control, 'main')).queueLength === 1, 10_000, 20);
      await conn.write(ABORT(1));
      expect(await endRequestOf(conn, 1)).toEqual({ appStatus: 0, protocolStatus: 0 });
      const pool = await poolStatus(control, 'main');
      expect({ queueLength: pool.queueLength, busy: pool.busy }).toEqual({ queueLength: 0, busy: 1 });
      expect(records(conn).filter((r) => r.type === FCGI.FCGI_STDOUT)).toEqual([]);
    });
    const answer = await slow;
    expect(parseCgiResponse(answer.stdout).status).toBe(200);
  });
});

describe('the supervisor refuses what the responder role refuses', () => {
  it('closes the connection on a repeated BEGIN_REQUEST (protocol error)', async () => {
    const { root, daemon } = stack();
    const since = daemon.logs.length;
    await withConnection(async (conn) => {
      await conn.write(Buffer.concat([encodeBeginRequest(1, true), params(root, '/hello.sh', 1), encodeBeginRequest(1, true)]));
      await conn.closed;
      await waitForEvent(daemon, 'protocol error', since);
      expect(records(conn)).toEqual([]);
    });
  });

  it('answers another role with FCGI_UNKNOWN_ROLE and, without KEEP_CONN, closes', async () => {
    await withConnection(async (conn) => {
      const authorizer = Buffer.from([0, 2, 0, 0, 0, 0, 0, 0]); // FCGI_AUTHORIZER, no FCGI_KEEP_CONN
      await conn.write(encodeRecord(FCGI.FCGI_BEGIN_REQUEST, 1, authorizer));
      expect(await endRequestOf(conn, 1)).toEqual({ appStatus: 0, protocolStatus: 3 });
      await conn.closed;
    });
  });

  it('answers GET_VALUES with FCGI_MPXS_CONNS=0 and a second BEGIN_REQUEST with FCGI_CANT_MPX_CONN', async () => {
    const { root } = stack();
    await withConnection(async (conn) => {
      await conn.write(Buffer.concat([
        encodeRecord(FCGI.FCGI_GET_VALUES, 0, encodeNameValuePairs([['FCGI_MPXS_CONNS', '']])),
        encodeBeginRequest(1, true), params(root, '/hello.sh', 1), encodeBeginRequest(2, true),
      ]));
      expect(await endRequestOf(conn, 2)).toEqual({ appStatus: 0, protocolStatus: 1 });
      const result = records(conn).find((r) => r.type === FCGI.FCGI_GET_VALUES_RESULT);
      expect(result?.content).toEqual(encodeNameValuePairs([['FCGI_MPXS_CONNS', '0']]));
    });
  });
});
