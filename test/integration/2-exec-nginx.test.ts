// This file implements issue 2's request/response checks from the perspective of an HTTP client
// talking to a real nginx that passes every request (fastcgi_pass, unix socket) to the built
// cgi-fpm running unmodified CGI scripts with the exec runtime: GET, POST, multipart upload,
// PATH_INFO, Status, Location, repeated headers, binary bodies, the CGI environment, stderr.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headerValues } from './helpers/http.ts';
import { waitForEvent, waitForRequestLog } from './helpers/logs.ts';
import { buildMultipart } from './helpers/multipart.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

const LEAK = 'CGI_FPM_IT_MUST_NOT_LEAK';

function json(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

// Both exec workers: the python one (the default) and the Node one (`exec.worker = "node"`).
describe.each(['python', 'node'])('exec runtime behind nginx (exec.worker = %s)', (worker) => {
  const stack = useStack({ daemonEnv: { [LEAK]: 'daemon environment' }, pool: { 'exec.worker': worker } });

  it('GET passes REQUEST_METHOD and QUERY_STRING unchanged and logs one request line', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/get-echo.py?name=J%C3%BCrgen&empty=&sum=1+2&amp=%26');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(json(res.text)).toEqual({
      method: 'GET',
      query: 'name=J%C3%BCrgen&empty=&sum=1+2&amp=%26',
      params: { name: ['Jürgen'], empty: [''], sum: ['1 2'], amp: ['&'] },
    });
    const line = await waitForRequestLog(daemon, 'get-echo.py', since);
    expect(line).toMatchObject({ pool: 'main', status: 200 });
    expect(line.bytes).toBeGreaterThan(0);
  });

  it('POST application/x-www-form-urlencoded reaches the script on stdin', async () => {
    const body = 'title=Hello+world&tags=a&tags=b&symbols=%26%3D%25&utf8=%E2%9C%93';
    const res = await stack().request('/post-echo.py', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(res.status).toBe(200);
    expect(json(res.text)).toEqual({
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
      contentLength: body.length,
      received: body.length,
      fields: { title: ['Hello world'], tags: ['a', 'b'], symbols: ['&=%'], utf8: ['✓'] },
    });
  });

  it('POST multipart/form-data with a 1 MiB file: the script (Perl CGI.pm) echoes its sha256', async () => {
    const file = randomBytes(1024 * 1024);
    const { body, contentType } = buildMultipart([
      { name: 'note', value: 'one megabyte' },
      { name: 'file', filename: 'random.bin', contentType: 'application/octet-stream', data: file },
    ]);
    const res = await stack().request('/upload-sha256.pl', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    expect(res.status).toBe(200);
    expect(json(res.text)).toEqual({
      sha256: createHash('sha256').update(file).digest('hex'),
      size: file.length,
      filename: 'random.bin',
      note: 'one megabyte',
      error: '',
    });
  });

  it('PATH_INFO is what follows the script name (fastcgi_split_path_info)', async () => {
    const res = await stack().request('/path-info.sh/extra/segments.html');
    expect(res.status).toBe(200);
    expect(res.text).toBe('PATH_INFO=/extra/segments.html\nSCRIPT_NAME=/path-info.sh\n');
  });

  it('a Status: header sets the HTTP status and keeps the body', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/status-404.sh');
    expect(res.status).toBe(404);
    expect(res.text).toBe('no such page, says the script\n');
    expect(await waitForRequestLog(daemon, 'status-404.sh', since)).toMatchObject({ status: 404 });
  });

  it('an absolute Location: without Status: is a 302 redirect', async () => {
    const res = await stack().request('/redirect.pl');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('http://localhost/landed.html?from=redirect');
  });

  it('two Set-Cookie headers both reach the client, in order', async () => {
    const res = await stack().request('/cookies.js');
    expect(res.status).toBe(200);
    expect(headerValues(res, 'set-cookie')).toEqual(['first=1; Path=/', 'second=2; Path=/; HttpOnly']);
    expect(res.text).toBe('two cookies\n');
  });

  it('binary output (every byte value, 256 KiB) arrives byte-exact', async () => {
    const res = await stack().request('/binary.py');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    const expected = Buffer.alloc(256 * 1024);
    for (let i = 0; i < expected.length; i++) expected[i] = i & 0xff;
    expect(res.body.length).toBe(expected.length);
    expect(res.body.equals(expected)).toBe(true);
  });

  it('the CGI environment: RFC 3875 variables, pool env, clear_env, no HTTP_PROXY, cwd = script dir', async () => {
    const { root } = stack();
    const res = await stack().request('/env-dump.py?x=1', {
      headers: { 'x-custom-header': 'custom value', proxy: 'http://attacker.example:3128' },
    });
    expect(res.status).toBe(200);
    const dump = json(res.text) as { env: Record<string, string>; cwd: string };
    expect(dump.env).toMatchObject({
      GATEWAY_INTERFACE: 'CGI/1.1',
      REQUEST_METHOD: 'GET',
      QUERY_STRING: 'x=1',
      SCRIPT_NAME: '/env-dump.py',
      SCRIPT_FILENAME: join(root, 'env-dump.py'),
      SERVER_PROTOCOL: 'HTTP/1.1',
      HTTP_X_CUSTOM_HEADER: 'custom value',
      GREETING: 'hello from the pool env',
    });
    // The gateway owns SERVER_SOFTWARE (nginx's fastcgi_params sends nginx/x.y.z).
    expect(dump.env.SERVER_SOFTWARE).toMatch(/^cgi-fpm\/\d+\.\d+\.\d+/);
    // httpoxy: a `Proxy:` request header must never become HTTP_PROXY.
    expect(dump.env).not.toHaveProperty('HTTP_PROXY');
    // clear_env = true: nothing of the daemon's own environment leaks into scripts.
    expect(dump.env).not.toHaveProperty(LEAK);
    expect(dump.cwd).toBe(root);
  });

  it("a script's stderr goes to the log line by line, the response is unaffected", async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/stderr.sh');
    expect(res.status).toBe(200);
    expect(res.text).toBe('see the log\n');
    const line = await daemon.waitForLog((e) => e.msg === 'cgi stderr', EVENT_TIMEOUT_MS, since);
    expect(line.line).toBe('stderr.sh says hello on stderr');
  });

  it('a missing script is 404 with a "script not found" log line', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/no-such-script.py');
    expect(res.status).toBe(404);
    await waitForEvent(daemon, 'script not found', since);
  });
});
