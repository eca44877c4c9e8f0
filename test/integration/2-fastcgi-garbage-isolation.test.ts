// This file implements issue 2's isolation check from the perspective of a hostile or broken
// FastCGI peer: garbage bytes on one connection close only that connection ("protocol error"),
// while requests in flight on other connections (through nginx and raw) complete untouched.
// The requests in flight run a gated script the test holds until the garbage connection is
// closed, so "closed while they were in flight" is certain, not timed.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { fcgiRequest, openRawConnection } from './helpers/fastcgi-client.ts';
import { encodeBeginRequest, encodeNameValuePairs, encodeRecord, FCGI } from './helpers/fastcgi-wire.ts';
import { GateSlot, released } from './helpers/gate.ts';
import { waitForEvent } from './helpers/logs.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const gate = new GateSlot();

const stack = useStack({
  pools: async ({ dir, root, fastcgiSocket }) => {
    await gate.open(dir, join(root, 'hold.sh'));
    return { main: defaultPool(root, fastcgiSocket) };
  },
});

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
  for (const [n, g] of garbage.entries()) {
    it(`${g.what}: that connection is closed, requests in flight elsewhere complete`, async () => {
      const { daemon, root, fastcgiSocket } = stack();
      const since = daemon.logs.length;
      const names = [`nginx${n}`, `raw${n}`];
      try {
        // Two requests in flight, held: one through nginx, one on a raw FastCGI connection.
        let answered = false;
        const viaNginx = stack().request(`/hold.sh?nginx${n}`);
        const viaRaw = fcgiRequest({
          socketPath: fastcgiSocket,
          params: nginxLikeParams(root, '/hold.sh', { QUERY_STRING: `raw${n}` }),
        });
        void Promise.allSettled([viaNginx, viaRaw]).then(() => {
          answered = true;
        });
        await Promise.all(names.map((name) => gate.get().waitStarted(name)));

        const bad = await openRawConnection(fastcgiSocket);
        try {
          await bad.write(g.bytes());
          // Closed while the requests are still in flight (they end only once released).
          await waitUntil(
            'the garbage connection closed by the daemon',
            () => bad.isClosed(),
            EVENT_TIMEOUT_MS,
            10,
          );
          expect(answered).toBe(false);
        } finally {
          bad.destroy();
        }
        await waitForEvent(daemon, 'protocol error', since);

        await gate.get().release(...names);
        const [httpRes, rawRes] = await Promise.all([viaNginx, viaRaw]);
        expect([httpRes.status, httpRes.text]).toEqual([200, released(`nginx${n}`)]);
        const cgi = parseCgiResponse(rawRes.stdout);
        expect([cgi.status, cgi.body.toString()]).toEqual([200, released(`raw${n}`)]);
        expect(rawRes.protocolStatus).toBe(0);
      } finally {
        await gate.get().release(...names);
      }

      // The daemon is still serving.
      const after = await stack().request('/get-echo.py?after=garbage');
      expect(after.status).toBe(200);
    });
  }
});
