// This file implements issue 2's path-traversal checks from the perspective of an attacker, both
// through nginx and through a raw FastCGI connection (a misconfigured or hostile front end that
// sends what nginx never would): `..`, a symlink out of the root, NUL/CR/LF bytes, a file outside
// `match`, a file without the executable bit. Each is refused (403/404) before any script runs,
// with a log line naming the cause; every script that could be reached writes a marker file when
// it runs, and no marker may appear.
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import type { LogEntry } from './helpers/daemon.ts';
import { fcgiRequest } from './helpers/fastcgi-client.ts';
import { clearMarkers, findMarkers } from './helpers/fixtures.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

const stack = useStack();

const NUL_REASON = /\bnul\b|null|\\0|byte|character|control/i;
const LF_REASON = /\blf\b|newline|line feed|\\n|byte|character|control/i;
const CR_REASON = /\bcr\b|carriage|\\r|byte|character|control/i;

/** Waits for the refusal event logged since `since` and returns it. */
async function refusal(since: number, event: 'script refused' | 'script not found'): Promise<LogEntry> {
  return stack().daemon.waitForLog((e) => e.msg === event, EVENT_TIMEOUT_MS, since);
}

beforeEach(async () => {
  await clearMarkers(stack().dir);
});

describe('the marker files work (positive control)', () => {
  it('a script inside the root, matched and executable, runs and leaves its marker', async () => {
    const res = await stack().request('/marker.sh');
    expect(res.status).toBe(200);
    expect(await findMarkers(stack().dir)).toEqual([join(stack().root, 'marker.sh.ran')]);
  });
});

describe('refused through nginx', () => {
  const cases: readonly { what: string; path: string; reason: RegExp }[] = [
    { what: 'a file outside `match` (executable readme.txt)', path: '/readme.txt', reason: /match/i },
    { what: 'a matched file without the executable bit', path: '/notexec.py', reason: /exec/i },
    { what: 'a symlink to a script outside the root', path: '/escape.py', reason: /root|outside|contain/i },
    { what: 'a symlink to /etc/passwd', path: '/passwd.py', reason: /root|outside|contain/i },
    // nginx decodes %0a and passes it on in SCRIPT_FILENAME (it rejects %00 itself).
    { what: 'LF (%0a) after the script name', path: '/marker.sh%0a', reason: LF_REASON },
    { what: 'LF (%0a) inside PATH_INFO', path: '/path-info.sh/a%0ab', reason: LF_REASON },
  ];
  for (const c of cases) {
    it(`${c.what}: 403, "script refused" naming the cause, nothing ran`, async () => {
      const { daemon, dir } = stack();
      const since = daemon.logs.length;
      const res = await stack().request(c.path);
      expect(res.status).toBe(403);
      const event = await refusal(since, 'script refused');
      expect(event.reason).toMatch(c.reason);
      expect(await findMarkers(dir)).toEqual([]);
    });
  }

  it('a missing script: 404, "script not found"', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/missing.py');
    expect(res.status).toBe(404);
    await refusal(since, 'script not found');
  });

  // nginx refuses these itself (400: `..` above the root after decoding, %00); whatever
  // reaches the daemon must be refused too, and nothing may run.
  const hostile = [
    '/%2e%2e/outside/evil.py',
    '/..%2foutside/evil.py',
    '/cgi-bin/..%2f..%2foutside/evil.py',
    '/marker.sh%00.txt',
    '/marker.sh%00',
    '/path-info.sh/a%00b',
    '/path-info.sh/..%2f..%2foutside/evil.py',
  ];
  for (const path of hostile) {
    it(`${path}: refused (400/403/404) and nothing ran`, async () => {
      const res = await stack().request(path);
      expect([400, 403, 404]).toContain(res.status);
      expect(await findMarkers(stack().dir)).toEqual([]);
    });
  }
});

describe('refused from a raw FastCGI client (what nginx would never send)', () => {
  const cases: readonly {
    what: string;
    params: (root: string, outside: string) => Record<string, string>;
    reason: RegExp;
  }[] = [
    {
      what: '`..` in SCRIPT_FILENAME leading outside the root',
      params: (root) => nginxLikeParams(root, '/../outside/evil.py'),
      reason: /root|outside|contain|\.\./i,
    },
    {
      what: '`..` hidden behind a real directory',
      params: (root) =>
        nginxLikeParams(root, '/x', { SCRIPT_FILENAME: `${root}/../cgi-bin/../outside/evil.py` }),
      reason: /root|outside|contain|\.\./i,
    },
    {
      what: 'NUL in SCRIPT_FILENAME (C truncation would run marker.sh)',
      params: (root) => nginxLikeParams(root, '/marker.sh\0.txt'),
      reason: NUL_REASON,
    },
    {
      what: 'LF in SCRIPT_FILENAME',
      params: (root) => nginxLikeParams(root, '/marker.sh\n'),
      reason: LF_REASON,
    },
    {
      what: 'CR in SCRIPT_FILENAME',
      params: (root) => nginxLikeParams(root, '/marker.sh\r'),
      reason: CR_REASON,
    },
    {
      what: 'NUL in PATH_INFO',
      params: (root) => nginxLikeParams(root, '/marker.sh', { PATH_INFO: '/a\0b' }),
      reason: NUL_REASON,
    },
  ];
  for (const c of cases) {
    it(`${c.what}: 403, "script refused" naming the cause, nothing ran`, async () => {
      const { daemon, dir, root, outside, fastcgiSocket } = stack();
      const since = daemon.logs.length;
      const res = await fcgiRequest({
        socketPath: fastcgiSocket,
        params: c.params(root, outside),
      });
      expect(parseCgiResponse(res.stdout).status).toBe(403);
      const event = await refusal(since, 'script refused');
      expect(event.reason).toMatch(c.reason);
      expect(await findMarkers(dir)).toEqual([]);
    });
  }

  it('a script in no pool root at all (absolute SCRIPT_FILENAME outside): refused, nothing ran', async () => {
    const { daemon, dir, root, outside, fastcgiSocket } = stack();
    const since = daemon.logs.length;
    const res = await fcgiRequest({
      socketPath: fastcgiSocket,
      params: nginxLikeParams(root, '/evil.py', { SCRIPT_FILENAME: join(outside, 'evil.py') }),
    });
    const status = parseCgiResponse(res.stdout).status;
    expect([403, 404]).toContain(status);
    await refusal(since, status === 403 ? 'script refused' : 'script not found');
    expect(await findMarkers(dir)).toEqual([]);
  });
});
