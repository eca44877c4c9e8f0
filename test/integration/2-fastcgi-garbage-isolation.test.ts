// This file implements issue 2's isolation check from the perspective of a hostile or broken
// FastCGI peer: garbage bytes on one connection close only that connection ("protocol error"),
// while requests in flight on other connections (through nginx and raw) complete untouched.
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { fcgiRequest, openRawConnection, type RawConnection } from './helpers/fastcgi-client.ts';
import { encodeBeginRequest, encodeNameValuePairs, encodeRecord, FCGI } from './helpers/fastcgi-wire.ts';
import { waitForEvent } from './helpers/logs.ts';
import { useStack } from './helpers/use-stack.ts';

const stack = useStack();

/** Resolves true when `conn` is closed by the daemon within `ms`, false otherwise. */
async function closedWithin(conn: RawConnection, ms: number): Promise<boolean> {
  return Promise.race([conn.closed.then(() => true), delay(ms).then(() => false)]);
}

const garbage: readonly { what: string; bytes: () => Buffer }[] = [
  {
    what: 'an HTTP request sent to the FastCGI socket',
    bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
  },
  {
    what: 'random bytes with a bad version',
    bytes: () => Buffer.from('ff00ff00deadbeefcafebabe0102030405060708', 'hex'),
  },
  {
    what: 'a valid BEGIN_REQUEST and PARAMS record, then a record with version 0',
    bytes: () =>
      Buffer.concat([
        encodeBeginRequest(1, false),
        encodeRecord(FCGI.FCGI_PARAMS, 1, encodeNameValuePairs([['REQUEST_METHOD', 'GET']])),
        Buffer.from([0, FCGI.FCGI_PARAMS, 0, 1, 0, 8, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]),
      ]),
  },
];

describe('garbage on one FastCGI connection', () => {
  for (const g of garbage) {
    it(`${g.what}: that connection is closed, requests in flight elsewhere complete`, async () => {
      const { daemon, root, fastcgiSocket } = stack();
      const since = daemon.logs.length;
      const started = Date.now();
      // Two 2-second requests in flight: one through nginx, one on a raw FastCGI connection.
      const viaNginx = stack().request('/slow-2s.sh?via=nginx', { timeoutMs: 15_000 });
      const viaRaw = fcgiRequest({
        socketPath: fastcgiSocket,
        params: nginxLikeParams(root, '/slow-2s.sh', { QUERY_STRING: 'via=raw' }),
        timeoutMs: 15_000,
      });
      await delay(500);

      const bad = await openRawConnection(fastcgiSocket);
      try {
        await bad.write(g.bytes());
        // Closed promptly: well before the in-flight requests finish.
        expect(await closedWithin(bad, 1200)).toBe(true);
      } finally {
        bad.destroy();
      }
      await waitForEvent(daemon, 'protocol error', since);

      const [httpRes, rawRes] = await Promise.all([viaNginx, viaRaw]);
      expect(httpRes.status).toBe(200);
      expect(httpRes.text).toMatch(/^slept 2s in pid \d+\n$/);
      const cgi = parseCgiResponse(rawRes.stdout);
      expect(cgi.status).toBe(200);
      expect(cgi.body.toString()).toMatch(/^slept 2s in pid \d+\n$/);
      expect(rawRes.protocolStatus).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);

      // The daemon is still serving.
      const after = await stack().request('/get-echo.py?after=garbage');
      expect(after.status).toBe(200);
    });
  }
});
