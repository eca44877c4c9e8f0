// This file implements issue 12's bytes check from the perspective of a CGI script that must see
// exactly what the client sent, behind a real nginx and through a raw FastCGI client: a query
// string and a header with bytes 0x80-0xFF, a script whose file name is latin1 (not UTF-8) and a
// path-info in latin1 reach the `exec` script's environment byte for byte (the script dumps them
// as hex with od), and the latin1 file name is routed (found, checked, run).
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { fcgiRequest } from './helpers/fastcgi-client.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
const hex = (bytes: Buffer | string): string => Buffer.from(bytes).toString('hex');
/** The variables the script dumps, one hex line each, in this order. */
const DUMPED = ['QUERY_STRING', 'HTTP_X_RAW', 'SCRIPT_FILENAME', 'SCRIPT_NAME', 'PATH_INFO'];
const DUMP = `#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
for v in ${DUMPED.map((n) => `"$${n}"`).join(' ')} "$0" "$(pwd)"; do
  printf '%s' "$v" | od -An -v -tx1 | tr -d ' \\n'; echo
done
`;
const SCRIPT = latin1('/caf\xe9.sh');

const stack = useStack({
  pools: async ({ root, fastcgiSocket }) => {
    await writeFile(Buffer.concat([Buffer.from(root), SCRIPT]), DUMP, { mode: 0o755 });
    return { main: defaultPool(root, fastcgiSocket) };
  },
});

/** One HTTP/1.0 request written as raw bytes to nginx (Node's client refuses raw bytes in a path). */
function rawHttp(socketPath: string, request: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { socket.destroy(new Error('http: no response within 15 s')); }, 15_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (err) => { clearTimeout(timer); reject(err); });
    socket.once('close', () => {
      clearTimeout(timer);
      const bytes = Buffer.concat(chunks);
      const end = bytes.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.\d (\d{3})/.exec(bytes.toString('latin1'))?.[1]), body: bytes.subarray(end + 4) });
    });
    socket.write(request);
  });
}

function expectedLines(root: string, query: Buffer, header: Buffer, pathInfo: Buffer): string[] {
  const script = Buffer.concat([Buffer.from(root), SCRIPT]);
  return [hex(query), hex(header), hex(script), hex(SCRIPT), hex(pathInfo), hex(script), hex(root)];
}

describe('bytes that are not UTF-8 reach an exec script exactly', () => {
  it('behind nginx: query string, header, latin1 script name and path-info', async () => {
    const { root, nginx } = stack();
    const query = latin1('q=%41\x80\x81\xfe\xff&r=\xe9');
    const header = latin1('\xe9t\xe9 \x80\xff');
    const request = Buffer.concat([
      latin1('GET /caf%E9.sh/p%E9th?'), query, latin1(' HTTP/1.0\r\nHost: localhost\r\nX-Raw: '), header, latin1('\r\n\r\n'),
    ]);
    const res = await rawHttp(nginx.httpSocket, request);
    expect(res.status).toBe(200);
    expect(res.body.toString().split('\n').slice(0, 7)).toEqual(expectedLines(root, query, header, latin1('/p\xe9th')));
  });

  it('from a raw FastCGI client: the same bytes as params', async () => {
    const { root, fastcgiSocket } = stack();
    const query = latin1('\x7f\x80\xc3\x28\xa0\xff');
    const header = latin1('\xc0\xaf \xed\xa0\x80');
    const response = await fcgiRequest({
      socketPath: fastcgiSocket,
      params: {
        ...nginxLikeParams(root, '/x'),
        QUERY_STRING: query, HTTP_X_RAW: header, SCRIPT_NAME: SCRIPT,
        SCRIPT_FILENAME: Buffer.concat([Buffer.from(root), SCRIPT]), PATH_INFO: latin1('/\xff'),
      },
    });
    const cgi = parseCgiResponse(response.stdout);
    expect(cgi.status).toBe(200);
    expect(cgi.body.toString().split('\n').slice(0, 7)).toEqual(expectedLines(root, query, header, latin1('/\xff')));
  });
});
