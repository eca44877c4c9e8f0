// This file implements issue 2's large-body checks from the perspective of an HTTP client behind
// nginx: a 10 MiB response streamed intact, a 3 MB request body the script never reads; and,
// from a raw FastCGI client's perspective, a large body echoed back while it is still being
// sent (no stdin/stdout deadlock).
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { fcgiRequest } from './helpers/fastcgi-client.ts';
import { waitForRequestLog } from './helpers/logs.ts';
import { useStack } from './helpers/use-stack.ts';


/** The bytes `fixtures/cgi-bin/big-10mb.js` writes: byte i is (i + 7 * floor(i / 65536)) & 0xff. */
function expectedBig(): Buffer {
  const out = Buffer.alloc(10 * 1024 * 1024);
  for (let i = 0; i < out.length; i++) out[i] = (i + 7 * Math.floor(i / 65536)) & 0xff;
  return out;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

// Both exec workers: the python one (the default) and the Node one (`exec.worker = "node"`).
describe.each(['python', 'node'])('large bodies through nginx and the exec runtime (exec.worker = %s)', (worker) => {
  const stack = useStack({ pool: { 'exec.worker': worker } });

  it('streams a 10 MiB response byte-exact (sha256)', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/big-10mb.js', { timeoutMs: 30_000 });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(10 * 1024 * 1024);
    expect(sha256(res.body)).toBe(sha256(expectedBig()));
    const line = await waitForRequestLog(daemon, 'big-10mb.js', since);
    expect(line.bytes).toBeGreaterThanOrEqual(10 * 1024 * 1024);
  });

  it('answers a script that never reads its 3 MB body, and the next request still works', async () => {
    const res = await stack().request('/ignore-body.sh', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: randomBytes(3 * 1000 * 1000),
      timeoutMs: 30_000,
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe('answered without reading the body\n');
    const next = await stack().request('/get-echo.py?after=ignore');
    expect(next.status).toBe(200);
  });

  // Through a raw FastCGI connection, not nginx: once a response header has reached the client,
  // nginx stops sending the request body upstream (ngx_http_upstream_send_request_handler
  // swaps in a dummy write handler), so an echoing script behind nginx can never get more
  // than the socket buffers' worth of body. A FastCGI client that keeps writing shows the
  // daemon's side: stdin written to the script while its stdout is read.
  it('echoes an 8 MiB body back while it is still being sent (stdin written while stdout read)', async () => {
    const { root, fastcgiSocket } = stack();
    const body = randomBytes(8 * 1024 * 1024);
    const res = await fcgiRequest({
      socketPath: fastcgiSocket,
      params: nginxLikeParams(root, '/echo-body.sh', {
        REQUEST_METHOD: 'POST',
        CONTENT_TYPE: 'application/octet-stream',
        CONTENT_LENGTH: String(body.length),
      }),
      stdin: body,
      timeoutMs: 30_000,
    });
    expect(res.protocolStatus).toBe(0);
    const cgi = parseCgiResponse(res.stdout);
    expect(cgi.status).toBe(200);
    expect(cgi.body.length).toBe(body.length);
    expect(sha256(cgi.body)).toBe(sha256(body));
  });
});
