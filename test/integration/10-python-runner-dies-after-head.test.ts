// This file implements issue 10 item 7 ("a runtime that dies after its headers") from the
// perspective of nginx and a raw FastCGI client: a python script that writes its head and part
// of its body, then kills its own runner (persistent isolation: the script runs in it), left a
// truncated response that ended with a normal END_REQUEST and a logged 200, so nginx passed a
// cut 200 on and logged nothing. Now the supervisor closes the connection without an
// END_REQUEST (nginx with keep-alive logs "upstream prematurely closed"), the worker logs the request's
// status as "failed", and the next request is served by a fresh runner.
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { openRawConnection } from './helpers/fastcgi-client.ts';
import { encodeRequest, FCGI, RecordReader } from './helpers/fastcgi-wire.ts';
import { writeScript } from './helpers/scripts.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

const DIES = [
  '# Written by the test: head and part of the body, then its runner is killed.',
  'import os, signal, sys',
  'sys.stdout.write("Content-Type: text/plain\\r\\n\\r\\npart one\\n")',
  'sys.stdout.flush()',
  'os.kill(os.getpid(), signal.SIGKILL)',
  'print("never sent")',
  '',
].join('\n');
const HELLO = '# Written by the test.\nprint("Content-Type: text/plain")\nprint()\nprint("hello")\n';

// nginx with `fastcgi_keep_conn on` (as the example config): it then needs the END_REQUEST, and
// an upstream close before it is an error. Without keep-alive, EOF ends the response for nginx.
const stack = useStack({
  keepAlive: true,
  pools: async ({ root, fastcgiSocket }) => {
    await writeScript(root, 'py/dies.py', DIES);
    await writeScript(root, 'py/hello.py', HELLO);
    return { py: { ...defaultPool(`${root}/py`, fastcgiSocket), 'listen.mode': '0666', runtime: 'python', pm: { max_children: 1 } } };
  },
});

describe('a python runner killed after the response head', () => {
  it('ends the request without END_REQUEST, logs status failed; nginx logs an upstream error', async () => {
    const { daemon, root, fastcgiSocket, nginx } = stack();
    const since = daemon.logs.length;

    // Raw: the head and "part one" arrive, then the connection closes with no END_REQUEST.
    const conn = await openRawConnection(fastcgiSocket);
    conn.socket.write(encodeRequest(1, Object.entries(nginxLikeParams(root, '/py/dies.py')), Buffer.alloc(0), false));
    expect((await conn.closed).error).toBeUndefined();
    const records = new RecordReader().push(conn.received());
    const stdout = Buffer.concat(records.filter((r) => r.type === FCGI.FCGI_STDOUT).map((r) => r.content)).toString();
    expect(stdout).toContain('part one');
    expect(stdout).not.toContain('never sent');
    expect(records.filter((r) => r.type === FCGI.FCGI_END_REQUEST)).toEqual([]);
    const line = await daemon.waitForLog((l) => l.msg === 'request' && l.status === 'failed', EVENT_TIMEOUT_MS, since);
    expect(line.httpStatus).toBe(200);
    expect(daemon.logs.slice(since).some((l) => l.msg === 'response incomplete')).toBe(true);

    // Through nginx: nginx sees the upstream close early and logs it.
    const viaNginx = await stack().request('/py/dies.py').then((r) => r.body.toString(), () => '');
    expect(viaNginx).not.toContain('never sent');
    await expect.poll(async () => nginx.errorLog(), { timeout: EVENT_TIMEOUT_MS }).toMatch(/upstream prematurely closed/);

    // A fresh runner serves the next request.
    const hello = await stack().request('/py/hello.py');
    expect([hello.status, hello.body.toString()]).toEqual([200, 'hello\n']);
  });
});
