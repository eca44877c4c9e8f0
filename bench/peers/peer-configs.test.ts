// This file implements the tests of the peers' setup from the perspective of a fair comparison:
// PHP-FPM gets a static pool of the same size, mod_wsgi a daemon group of `processes=N
// threads=1` per target with no Python in Apache's own children, and the in-process CGI
// adapter runs an unmodified CGI script the way CGI would (environment, stdout, CGI head).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apacheWsgiConf } from '../apache-wsgi.ts';
import { findInterpreters } from '../interpreters.ts';
import { phpFpmConf } from '../php-fpm.ts';
import { TARGETS } from '../targets.ts';

const ADAPTER = join(import.meta.dirname, 'wsgi-cgi-adapter.py');

function target(id: string): (typeof TARGETS)[number] {
  const found = TARGETS.find((t) => t.id === id);
  if (found === undefined) throw new Error(`no target ${id}`);
  return found;
}

describe('bench peers', () => {
  it('configures PHP-FPM with one static pool of N children on the socket', () => {
    const conf = phpFpmConf('/tmp/b/php-fpm', '/tmp/b/php-fpm.sock', 2);
    expect(conf).toContain('daemonize = no');
    expect(conf).toMatch(/^listen = \/tmp\/b\/php-fpm\.sock$/m);
    expect(conf).toMatch(/^pm = static$/m);
    expect(conf).toMatch(/^pm\.max_children = 2$/m);
  });

  it('configures a mod_wsgi daemon group of N single-threaded processes per target, on its own port', () => {
    const sites = [
      { target: target('python-wsgi-cgi'), script: '/tmp/b/wsgi/hello-cgi.wsgi' },
      { target: target('python-wsgi'), script: '/tmp/b/wsgi/hello.wsgi' },
    ];
    const conf = apacheWsgiConf('/tmp/b/apache', sites, [8001, 8002], '/tmp/b/cgi-bin', 2);
    expect(conf).toContain('WSGIDaemonProcess cgi processes=2 threads=1 display-name=%{GROUP} home=/tmp/b/cgi-bin');
    expect(conf).toContain('WSGIDaemonProcess native processes=2 threads=1 display-name=%{GROUP} home=/tmp/b/cgi-bin');
    expect(conf).toContain('WSGIScriptAlias /hello.py /tmp/b/wsgi/hello-cgi.wsgi process-group=cgi application-group=%{GLOBAL}');
    expect(conf).toContain('<VirtualHost 127.0.0.1:8002>\n    WSGIScriptAlias /hello /tmp/b/wsgi/hello.wsgi process-group=native');
    expect(conf).toContain('WSGIRestrictEmbedded On');
    expect(conf).not.toMatch(/CustomLog/);
  });

  it('runs an unmodified CGI script in-process: CGI variables in os.environ, its head parsed, stdout restored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cgi-fpm-wsgi-'));
    try {
      const script = join(dir, 'form.py');
      writeFileSync(
        script,
        'import os, sys\nprint("Status: 404 Not Found")\nprint("Content-Type: text/plain")\nprint()\nprint("q=" + os.environ["QUERY_STRING"] + " body=" + sys.stdin.read(), end="")\n',
      );
      const driver = `
import io, sys
SCRIPT = ${JSON.stringify(script)}
exec(open(${JSON.stringify(ADAPTER)}).read())
seen = {}
def start_response(status, headers):
    seen["status"], seen["headers"] = status, headers
before = sys.stdout
body = application({"QUERY_STRING": "a=1", "CONTENT_LENGTH": "3", "wsgi.input": io.BytesIO(b"xyz")}, start_response)
assert sys.stdout is before
print(seen["status"], seen["headers"], b"".join(body).decode())
`;
      const { python } = await findInterpreters();
      const run = spawnSync(python, ['-c', driver], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe(
        "404 Not Found [('Content-Type', 'text/plain'), ('Content-Length', '14')] q=a=1 body=xyz",
      );
      expect(readFileSync(ADAPTER, 'utf8')).toContain('compile(source.read(), SCRIPT, "exec")');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
