// This file implements issue 3's python runtime checks as a suite, from the perspective of an
// HTTP client behind a real nginx: unmodified classic CGI scripts (environment,
// cgi.FieldStorage GET, POST and multipart upload, http.cookies, cgitb) answer as they would
// under CGI, from a pool of one worker in the isolation the caller names (issue 16: the same
// answers under `isolation = "fork"`).
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Isolation } from '../../src/config/schema.ts';
import { fields, pythonPools } from './3-python-pools.ts';
import { headerValues } from './helpers/http.ts';
import { isForScript, waitForRequestLog } from './helpers/logs.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';
import { buildMultipart } from './helpers/multipart.ts';
import { useStack } from './helpers/use-stack.ts';

/** Registers the suite for a pool `py` with `isolation`. */
export function pythonCgiSuite(isolation: Isolation): void {
  const stack = useStack({ pools: pythonPools({ py: { isolation } }) });

  describe('python runtime behind nginx: classic CGI scripts', () => {
    it('hello: the CGI environment, argv and cwd, and the same python child (or runner, under fork) on the next request', async () => {
      const { daemon, root } = stack();
      const since = daemon.logs.length;
      const res = await stack().request('/py/hello.py/extra/path?x=1&y=2');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain');
      expect(res.text.split('\n')[0]).toBe('hello from python');
      const env = fields(res.text);
      expect(env).toMatchObject({
        REQUEST_METHOD: 'GET',
        QUERY_STRING: 'x=1&y=2',
        SCRIPT_NAME: '/py/hello.py',
        PATH_INFO: '/extra/path',
        GREETING: 'hello from the pool env',
        GATEWAY_INTERFACE: 'CGI/1.1',
        cwd: `${root}/py`,
        argv0: 'hello.py',
      });
      expect(await waitForRequestLog(daemon, 'hello.py', since)).toMatchObject({ status: 200 });
      const again = fields((await stack().request('/py/hello.py')).text);
      if (isolation === 'persistent') {
        expect(again.pid).toBe(env.pid);
      } else {
        // A fresh child of the same runner.
        expect(again.pid).not.toBe(env.pid);
        expect(again.ppid).toBe(env.ppid);
      }
    });

    it('cgi.FieldStorage reads a GET query and a urlencoded POST body', async () => {
      const get = await stack().request('/py/form.py?b=2&a=x&a=y');
      expect(get.status).toBe(200);
      expect(get.text).toBe('a=x,y\nb=2\n');
      const post = await stack().request('/py/form.py', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'title=Hello+world&utf8=%E2%9C%93',
      });
      expect(post.status).toBe(200);
      expect(post.text).toBe('title=Hello world\nutf8=✓\n');
    });

    it('cgi.FieldStorage reads a 1 MiB multipart upload and echoes its sha256', async () => {
      const file = randomBytes(1024 * 1024);
      const { body, contentType } = buildMultipart([
        { name: 'note', value: 'one megabyte' },
        { name: 'file', filename: 'random.bin', contentType: 'application/octet-stream', data: file },
      ]);
      const res = await stack().request('/py/upload.py', {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });
      expect(res.status).toBe(200);
      expect(fields(res.text)).toEqual({
        note: 'one megabyte',
        filename: 'random.bin',
        size: String(file.length),
        sha256: createHash('sha256').update(file).digest('hex'),
      });
    });

    it('http.cookies reads Cookie and sets Set-Cookie', async () => {
      const res = await stack().request('/py/cookies.py', { headers: { cookie: 'visits=41; other=x' } });
      expect(res.status).toBe(200);
      expect(headerValues(res, 'set-cookie')).toEqual(['visits=42; Path=/']);
      expect(res.text).toBe('visits=42\n');
    });

    it("cgitb: an uncaught exception answers the script's own HTML page; the traceback is logged", async () => {
      const { daemon } = stack();
      const since = daemon.logs.length;
      const res = await stack().request('/py/cgitb_crash.py');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html');
      expect(res.text).toContain('ZeroDivisionError');
      expect(res.text).toContain('average');
      await daemon.waitForLog(
        (e) =>
          e.msg === 'cgi stderr' &&
          isForScript(e, 'cgitb_crash.py') &&
          e.line === 'ZeroDivisionError: division by zero',
        EVENT_TIMEOUT_MS,
        since,
      );
      // The worker's python child is still the same one and serves on.
      expect((await stack().request('/py/hello.py')).status).toBe(200);
    });
  });
}
