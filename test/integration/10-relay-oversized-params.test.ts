// This file implements issue 10 item 1 from the perspective of a hostile FastCGI client on the
// pool socket (raw FastCGI: nginx never sends such requests): a 70 KB PATH_INFO made the
// supervisor's override PARAMS record longer than a record may be (the daemon died), and params
// near 1 MiB passed the supervisor but not the worker once the supervisor added its own (the
// worker died, 502 and a respawn per request). Now each is answered, the daemon and its workers
// stay up: same supervisor, same worker pids, no worker exit logged.
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { fcgiRequest } from './helpers/fastcgi-client.ts';
import { encodeNameValuePairs } from './helpers/fastcgi-wire.ts';
import { childPids, isProcessAlive } from './helpers/processes.ts';
import { writeScript } from './helpers/scripts.ts';
import { useStack } from './helpers/use-stack.ts';

const PATH_INFO_LENGTH = 'sh: the length of PATH_INFO and of the body';
const LENGTH_SCRIPT = [
  '#!/bin/sh',
  `# Written by the test (${PATH_INFO_LENGTH}).`,
  'printf \'Content-Type: text/plain\\r\\n\\r\\n%s\\n\' "${#PATH_INFO}"',
  '',
].join('\n');

const stack = useStack({
  pools: async ({ root, fastcgiSocket }) => {
    await writeScript(root, 'length.sh', LENGTH_SCRIPT);
    return {
      main: {
        listen: fastcgiSocket,
        'listen.mode': '0666',
        root,
        match: ['*.sh'],
        pm: { max_children: 2 },
        env: { PATH: '/usr/bin:/bin' },
      },
    };
  },
});

/** `params` plus an `HTTP_X_PAD` param that makes their encoded stream exactly `bytes` long. */
function paddedTo(params: Record<string, string>, bytes: number): Record<string, string> {
  const base = encodeNameValuePairs(Object.entries(params)).length;
  const overhead = 1 + 4 + 'HTTP_X_PAD'.length;
  return { ...params, HTTP_X_PAD: 'x'.repeat(bytes - base - overhead) };
}

/** What must not change: the supervisor, its workers, and no worker exit in the log. */
function workersOf(pid: number): number[] {
  return childPids(pid).sort((a, b) => a - b);
}

describe('oversized params from a raw FastCGI client', () => {
  it('answers each (70 KB PATH_INFO: run; about 1 MiB: 431) with the daemon and its workers unchanged', async () => {
    const { daemon, root, fastcgiSocket } = stack();
    const since = daemon.logs.length;
    const workers = workersOf(daemon.pid);
    expect(workers.length).toBe(2);

    // 70 KB of path-info, sent as nginx's fastcgi_split_path_info sends it: the supervisor passes
    // it on among the params it adds itself (more than one record's 65,535 bytes).
    const pathInfo = `/${'p'.repeat(70 * 1024)}`;
    const long = await fcgiRequest({
      socketPath: fastcgiSocket,
      params: nginxLikeParams(root, '/length.sh', { PATH_INFO: pathInfo }),
    });
    const ran = parseCgiResponse(long.stdout);
    expect([ran.status, ran.body.toString(), long.protocolStatus]).toEqual([200, `${pathInfo.length}\n`, 0]);

    // Just under the supervisor's bound on what it reads, over the worker's once the supervisor
    // adds the resolved SCRIPT_FILENAME: refused by the supervisor.
    const near = await fcgiRequest({
      socketPath: fastcgiSocket,
      params: paddedTo(nginxLikeParams(root, '/length.sh'), 1024 * 1024 - 10),
    });
    expect([parseCgiResponse(near.stdout).status, near.protocolStatus]).toEqual([431, 0]);

    // Over the bound on what it reads (1.5 MiB, split across records): the rest of the stream is
    // skipped and the request answered.
    const over = await fcgiRequest({
      socketPath: fastcgiSocket,
      params: nginxLikeParams(root, '/length.sh', { HTTP_X_PAD: 'x'.repeat(1536 * 1024) }),
    });
    expect([parseCgiResponse(over.stdout).status, over.protocolStatus]).toEqual([431, 0]);

    // Still serving, on the same processes.
    const after = await fcgiRequest({
      socketPath: fastcgiSocket,
      params: nginxLikeParams(root, '/length.sh'),
    });
    expect(parseCgiResponse(after.stdout).status).toBe(200);
    expect(isProcessAlive(daemon.pid)).toBe(true);
    expect(workersOf(daemon.pid)).toEqual(workers);
    const events = daemon.logs.slice(since).map((e) => e.msg);
    expect(
      events.filter((m) => m === 'worker exited' || m === 'worker failed to start' || m === 'protocol error'),
    ).toEqual([]);
    expect(events.filter((m) => m === 'params too large')).toHaveLength(2);
  });
});
