// This file implements issue 2's keep-alive check from the perspective of nginx configured with
// `upstream { keepalive 16; }` + `fastcgi_keep_conn on`: 1000 sequential requests all answered
// over FastCGI connections the daemon keeps open (FCGI_KEEP_CONN honoured), seen from the kernel's
// table of connections accepted on the daemon's socket; and kept-alive connections that
// survive a request body the script never read.
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { fcgiKeepConnSequence } from './helpers/fastcgi-keep-conn.ts';
import { keepAliveAgent } from './helpers/http.ts';
import { acceptedConnections } from './helpers/unix-sockets.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const REQUESTS = 1000;
const stack = useStack({ keepAlive: true });

describe('fastcgi_keep_conn on', () => {
  it(`serves ${REQUESTS} sequential requests over kept-alive connections`, { timeout: 180_000 }, async () => {
    const { daemon, fastcgiSocket } = stack();
    const agent = keepAliveAgent(1);
    const since = daemon.logs.length;
    const statuses = new Map<number, number>();
    const seen = new Set<number>();
    let samplesWithConnection = 0;
    let samples = 0;
    try {
      for (let i = 0; i < REQUESTS; i++) {
        const res = await stack().request(`/hello.sh?i=${i}`, { agent });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 200 || res.text !== 'hello\n') {
          throw new Error(`request ${i}: ${res.status} ${JSON.stringify(res.text.slice(0, 200))}`);
        }
        if (i % 50 === 49) {
          // Between requests nginx holds its upstream connection idle in the keepalive cache.
          const open = acceptedConnections(fastcgiSocket);
          samples += 1;
          if (open.length > 0) samplesWithConnection += 1;
          for (const inode of open) seen.add(inode);
        }
      }
    } finally {
      agent.destroy();
    }
    expect(statuses).toEqual(new Map([[200, REQUESTS]]));
    // Kept alive: an idle upstream connection at every sample, and only a handful of distinct
    // connections over all 1000 requests (one per nginx worker, plus any reconnect).
    expect(samplesWithConnection).toBe(samples);
    expect(seen.size).toBeGreaterThanOrEqual(1);
    expect(seen.size).toBeLessThanOrEqual(3);
    // One "request" log line per request.
    await waitUntil(
      `${REQUESTS} request log lines`,
      () =>
        daemon.logs.slice(since).filter((e) => e.msg === 'request' && e.status === 200).length >= REQUESTS,
      EVENT_TIMEOUT_MS,
    );
  });

  it('a POST whose 3 MB body the script never reads does not break the kept-alive connections', async () => {
    const res = await stack().request('/ignore-body.sh', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(3_000_000, 0x61),
    });
    expect(res.status).toBe(200);
    const agent = keepAliveAgent(1);
    try {
      for (let i = 0; i < 20; i++) {
        const next = await stack().request(`/hello.sh?after=${i}`, { agent });
        expect(next.status).toBe(200);
      }
    } finally {
      agent.destroy();
    }
  });

  it('FCGI_KEEP_CONN from a raw client: an unread 3 MB body, then more requests on the same connection', async () => {
    const { root, fastcgiSocket } = stack();
    const body = Buffer.alloc(3_000_000, 0x62);
    const { responses, stillOpen } = await fcgiKeepConnSequence(fastcgiSocket, [
      {
        params: nginxLikeParams(root, '/ignore-body.sh', {
          REQUEST_METHOD: 'POST',
          CONTENT_LENGTH: String(body.length),
        }),
        stdin: body,
      },
      { params: nginxLikeParams(root, '/get-echo.py', { QUERY_STRING: 'second=1' }) },
      { params: nginxLikeParams(root, '/hello.sh') },
    ]);
    expect(responses.map((r) => parseCgiResponse(r.stdout).status)).toEqual([200, 200, 200]);
    expect(parseCgiResponse(responses[1]!.stdout).body.toString()).toContain('"query": "second=1"');
    expect(stillOpen).toBe(true);
  });
});
