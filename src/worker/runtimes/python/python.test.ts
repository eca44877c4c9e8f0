import { createHash, randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISOLATIONS } from '../../../config/schema.ts';
import type { RuntimeHost } from '../types.ts';
import { Sink, runScript, scriptDir, silentLog, startRuntime, type ScriptDir } from './runtime-test-peer.ts';

const HEAD = 'print("Content-Type: text/plain")\nprint()\n';

const scripts: Record<string, string> = {
  'hello.py': `${HEAD}print("hello from python")\n`,
  'env.py': [
    'import json, os, sys',
    HEAD,
    'print(json.dumps({"env": dict(os.environ), "argv": sys.argv, "path0": sys.path[0], "cwd": os.getcwd()}))',
    'os.environ["LEAKED"] = "yes"',
    'os.chdir("/")',
    '',
  ].join('\n'),
  'sha.py': [
    'import hashlib, sys',
    HEAD,
    'digest = hashlib.sha256()',
    'size = 0',
    'while True:',
    '    block = sys.stdin.buffer.read(65536)',
    '    if not block: break',
    '    digest.update(block)',
    '    size += len(block)',
    'print(size, digest.hexdigest())',
    '',
  ].join('\n'),
  // Echoes the first line of the body before the rest of it has been sent.
  'first-line.py': [
    'import sys',
    HEAD,
    'print("got", sys.stdin.readline().strip(), flush=True)',
    'print("rest", len(sys.stdin.read()))',
    '',
  ].join('\n'),
  'big.py': [
    'import sys',
    'sys.stdout.write("Content-Type: application/octet-stream\\r\\n\\r\\n")',
    'block = bytes(range(256)) * 4096',
    'for _ in range(10): sys.stdout.buffer.write(block)',
    '',
  ].join('\n'),
  'exit.py': `import sys\n${HEAD}print("before exit")\nsys.exit(3)\nprint("after exit")\n`,
  'exit-text.py': `import sys\n${HEAD}sys.exit("fatal: bad input")\n`,
  'raise.py': `${HEAD}print("buffered, then dropped")\ndef fail():\n    raise ValueError("boom")\nfail()\n`,
  'raise-late.py': `import sys\n${HEAD}print("sent", flush=True)\nraise KeyError("late")\n`,
  'stderr.py': `import sys\n${HEAD}sys.stderr.write("one\\ntwo\\n")\nprint("three", file=sys.stderr)\nsys.stderr.write("four")\n`,
  'order.py':
    'import sys\nprint("Content-Type: text/plain\\n")\nprint("a")\nsys.stdout.buffer.write(b"b\\n")\nprint("c")\n',
  'syntax.py': 'print("Content-Type: text/plain\\n")\nif True print("x")\n',
  'edit.py': `${HEAD}print("version 1")\n`,
  'wrap.py': [
    'import io, sys',
    'sys.stdout = io.TextIOWrapper(sys.stdout.detach(), encoding="latin-1")',
    'print("Content-Type: text/plain; charset=latin-1\\n")',
    'print("caf\\u00e9")',
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

interface EnvReport {
  env: Record<string, string>;
  argv: string[];
  path0: string;
  cwd: string;
}

function report(text: string): EnvReport {
  return JSON.parse(text.slice(text.indexOf('{'))) as EnvReport;
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

  describe('python runtime: one request', () => {
    it('runs a hello script', async () => {
      const { result, text } = await runScript(host, dir.path('hello.py'));
      expect(result).toEqual({ exitCode: 0, signal: null });
      expect(text).toBe('Content-Type: text/plain\n\nhello from python\n');
    });

    it("gives os.environ exactly the request's environment, argv, sys.path[0] and cwd; then restores them", async () => {
      const script = dir.path('env.py');
      const first = report(
        (await runScript(host, script, { env: { QUERY_STRING: 'a=1', ONLY_FIRST: 'x' } })).text,
      );
      expect(first.env).toEqual({
        SCRIPT_FILENAME: script,
        REQUEST_METHOD: 'GET',
        QUERY_STRING: 'a=1',
        ONLY_FIRST: 'x',
      });
      expect(first.argv).toEqual([script]);
      expect(first.path0).toBe(dir.dir);
      expect(first.cwd).toBe(dir.dir);
      // The script set LEAKED and changed to /: neither survives the request.
      const second = report((await runScript(host, script, { env: { QUERY_STRING: 'b=2' } })).text);
      expect(second.env).toEqual({ SCRIPT_FILENAME: script, REQUEST_METHOD: 'GET', QUERY_STRING: 'b=2' });
      expect(second.cwd).toBe(dir.dir);
    });

    it('streams a 3 MB body to sys.stdin.buffer', async () => {
      const body = randomBytes(3 * 1024 * 1024);
      const { text } = await runScript(host, dir.path('sha.py'), { body });
      expect(text.split('\n\n')[1]?.trim()).toBe(
        `${body.length} ${createHash('sha256').update(body).digest('hex')}`,
      );
    });

    it('hands the body on as it arrives, not once it is complete', async () => {
      const body = new PassThrough();
      const sink = new Sink();
      const running = runScript(host, dir.path('first-line.py'), { body, sink });
      body.write('first\n');
      // The script answers the first line while the rest of the body is still to come.
      for (let i = 0; i < 100 && !sink.text.includes('got first'); i++) await sleep(20);
      expect(sink.text).toContain('got first');
      body.end('x'.repeat(1000));
      expect((await running).text).toContain('rest 1000');
    });

    it('streams 10 MB of output with backpressure from a slow destination', async () => {
      const sink = new Sink(16 * 1024, 1);
      const { result, sink: out } = await runScript(host, dir.path('big.py'), { sink });
      expect(result.exitCode).toBe(0);
      const body = out.bytes.subarray(out.bytes.indexOf('\r\n\r\n') + 4);
      const block = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const expected = Buffer.concat(Array.from({ length: 10 * 4096 }, () => block));
      expect(body.length).toBe(10 * 1024 * 1024);
      expect(body.equals(expected)).toBe(true);
      // Frames arrive in pieces that were passed on one by one, never as one 10 MB buffer.
      expect(Math.max(...out.chunks.map((c) => c.length))).toBeLessThanOrEqual(256 * 1024);
    });

    it('keeps print() and sys.stdout.buffer writes in order', async () => {
      const { text } = await runScript(host, dir.path('order.py'));
      expect(text).toBe('Content-Type: text/plain\n\na\nb\nc\n');
    });

    it('flushes a wrapper the script put around sys.stdout (detach + TextIOWrapper)', async () => {
      const { sink } = await runScript(host, dir.path('wrap.py'));
      expect(sink.bytes.toString('latin1')).toBe('Content-Type: text/plain; charset=latin-1\n\ncaf\u00e9\n');
    });

    it('sends stderr to the log line by line', async () => {
      const { lines, result } = await runScript(host, dir.path('stderr.py'));
      expect(result.exitCode).toBe(0);
      expect(lines).toEqual(['one', 'two', 'three', 'four']);
    });
  });

  describe('python runtime: how a script ends', () => {
    it('sys.exit(3) ends the request with exit code 3 and keeps the output so far', async () => {
      const { result, text } = await runScript(host, dir.path('exit.py'));
      expect(result).toEqual({ exitCode: 3, signal: null });
      expect(text).toBe('Content-Type: text/plain\n\nbefore exit\n');
    });

    it('sys.exit("message") logs the message and exits 1', async () => {
      const { result, lines } = await runScript(host, dir.path('exit-text.py'));
      expect(result.exitCode).toBe(1);
      expect(lines).toEqual(['fatal: bad input']);
    });

    it('an uncaught exception is a 500 (buffered output dropped) with the traceback in the log', async () => {
      const { result, text, lines } = await runScript(host, dir.path('raise.py'));
      expect(result.exitCode).toBe(1);
      expect(text).toMatch(/^Status: 500 Internal Server Error\r\n/);
      expect(text).not.toContain('buffered');
      expect(lines[0]).toBe('Traceback (most recent call last):');
      expect(lines.join('\n')).toContain(`File "${dir.path('raise.py')}", line 6, in <module>\n    fail()`);
      expect(lines.join('\n')).toContain(`File "${dir.path('raise.py')}", line 5, in fail`);
      expect(lines.join('\n')).not.toContain('runner.py');
      expect(lines.at(-1)).toBe('ValueError: boom');
    });

    it('an exception after output went out keeps that output (as CGI would)', async () => {
      const { text, lines } = await runScript(host, dir.path('raise-late.py'));
      expect(text).toBe('Content-Type: text/plain\n\nsent\n');
      expect(lines.at(-1)).toBe("KeyError: 'late'");
    });

    it('a syntax error is a 500 naming the line', async () => {
      const { text, lines } = await runScript(host, dir.path('syntax.py'));
      expect(text).toMatch(/^Status: 500/);
      expect(lines.join('\n')).toMatch(/syntax\.py", line 2[\s\S]*SyntaxError/);
    });

    it('runs an edited script on its next request', async () => {
      const script = await dir.write(`edit-${isolation}.py`, scripts['edit.py']!);
      expect((await runScript(host, script)).text).toContain('version 1');
      await dir.write(`edit-${isolation}.py`, `${HEAD}print("version 2, longer")\n`);
      expect((await runScript(host, script)).text).toContain('version 2, longer');
    });
  });
});
