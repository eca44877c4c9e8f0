import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISOLATIONS } from '../../../config/schema.ts';
import type { RuntimeHost } from '../types.ts';
import { runScript, scriptDir, silentLog, startRuntime, type ScriptDir } from './runtime-test-peer.ts';

// Classic python3 CGI scripts, unmodified: the stdlib cgi, cgitb and http.cookies modules.
const scripts: Record<string, string> = {
  'form.py': [
    'import cgi, hashlib',
    'form = cgi.FieldStorage()',
    'print("Content-Type: text/plain")',
    'print()',
    'for key in sorted(form.keys()):',
    '    item = form[key]',
    '    if item.filename:',
    '        data = item.file.read()',
    '        print("%s: file %s %d %s" % (key, item.filename, len(data), hashlib.sha256(data).hexdigest()))',
    '    else:',
    '        print("%s: %s" % (key, form.getvalue(key)))',
    '',
  ].join('\n'),
  'cookies.py': [
    'import os',
    'from http import cookies',
    'jar = cookies.SimpleCookie(os.environ.get("HTTP_COOKIE", ""))',
    'visits = int(jar["visits"].value) + 1 if "visits" in jar else 1',
    'out = cookies.SimpleCookie()',
    'out["visits"] = visits',
    'out["visits"]["path"] = "/"',
    'print(out.output())',
    'print("Content-Type: text/plain")',
    'print()',
    'print("visits", visits)',
    '',
  ].join('\n'),
  'cgitb-crash.py': [
    'import cgitb',
    'cgitb.enable()',
    'def divide(a, b):',
    '    return a / b',
    'divide(1, 0)',
    '',
  ].join('\n'),
  'cgitb-late.py': [
    'import cgitb, sys',
    'cgitb.enable()',
    'print("Content-Type: text/html")',
    'print()',
    'print("<p>before the crash</p>", flush=True)',
    'raise RuntimeError("late crash")',
    '',
  ].join('\n'),
  'hook-restored.py': [
    'import sys',
    'print("Content-Type: text/plain")',
    'print()',
    'print("hook is default:", sys.excepthook is sys.__excepthook__)',
    '',
  ].join('\n'),
};

let dir: ScriptDir;
let host: RuntimeHost;

beforeAll(async () => {
  dir = await scriptDir(scripts);
});

afterAll(async () => {
  await dir.remove();
});

function bodyOf(text: string): string {
  return text.slice(text.indexOf('\n\n') + 2);
}

// Every behaviour here is the same whether the script runs in the warm interpreter or in a
// fresh fork of it.
describe.each(ISOLATIONS)('isolation = %s', (isolation) => {
  beforeAll(async () => {
    host = await startRuntime('reset', 'reset', silentLog, isolation);
  });

  afterAll(async () => {
    await host.close();
  });

  describe('python runtime: classic CGI modules', () => {
    it('cgi.FieldStorage reads a GET query string', async () => {
      const { text } = await runScript(host, dir.path('form.py'), {
        env: { QUERY_STRING: 'b=2&a=hello%20world' },
      });
      expect(bodyOf(text)).toBe('a: hello world\nb: 2\n');
    });

    it('cgi.FieldStorage reads a urlencoded POST body', async () => {
      const body = Buffer.from('name=caf%C3%A9&n=42');
      const env = {
        REQUEST_METHOD: 'POST',
        CONTENT_TYPE: 'application/x-www-form-urlencoded',
        CONTENT_LENGTH: String(body.length),
      };
      const { text } = await runScript(host, dir.path('form.py'), { env, body });
      expect(bodyOf(text)).toBe('n: 42\nname: café\n');
    });

    it('cgi.FieldStorage reads a multipart upload', async () => {
      const file = randomBytes(200_000);
      const boundary = '----cgi-fpm-unit-boundary';
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nmy upload\r\n`),
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="upload"; filename="data.bin"\r\n`,
        ),
        Buffer.from('Content-Type: application/octet-stream\r\n\r\n'),
        file,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const env = {
        REQUEST_METHOD: 'POST',
        CONTENT_TYPE: `multipart/form-data; boundary=${boundary}`,
        CONTENT_LENGTH: String(body.length),
      };
      const { text } = await runScript(host, dir.path('form.py'), { env, body });
      const sha = createHash('sha256').update(file).digest('hex');
      expect(bodyOf(text)).toBe(`title: my upload\nupload: file data.bin ${file.length} ${sha}\n`);
    });

    it('http.cookies reads HTTP_COOKIE and writes Set-Cookie', async () => {
      const { text } = await runScript(host, dir.path('cookies.py'), {
        env: { HTTP_COOKIE: 'visits=41; other=x' },
      });
      expect(text).toBe('Set-Cookie: visits=42; Path=/\nContent-Type: text/plain\n\nvisits 42\n');
    });

    it("cgitb.enable(): the script's HTML error page is the response, the traceback is logged", async () => {
      const { text, lines, result } = await runScript(host, dir.path('cgitb-crash.py'));
      expect(result.exitCode).toBe(1);
      // cgitb's first line (`<!--: spam`) is not a valid header line; the runner cuts it.
      expect(text).toMatch(/^Content-Type: text\/html\n\n/);
      expect(text).toContain('ZeroDivisionError');
      expect(text).toContain('divide');
      expect(lines).toContain('ZeroDivisionError: division by zero');
    });

    it('cgitb after output went out appends its page to the response', async () => {
      const { text } = await runScript(host, dir.path('cgitb-late.py'));
      expect(text).toMatch(/^Content-Type: text\/html\n\n<p>before the crash<\/p>\n<!--: spam/);
      expect(text).toContain('RuntimeError');
    });

    it('restores sys.excepthook after a request that replaced it', async () => {
      await runScript(host, dir.path('cgitb-crash.py'));
      const { text } = await runScript(host, dir.path('hook-restored.py'));
      expect(bodyOf(text)).toBe('hook is default: True\n');
    });
  });
});
