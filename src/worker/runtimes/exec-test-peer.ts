// This file implements the exec runtime's test scripts and requests from the perspective of the
// tests of exec.ts: a temporary directory of scripts, a request with its sinks, process checks.
import { existsSync, readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { RuntimeRequest } from './types.ts';
import { beforeAll, afterAll } from 'vitest';
export let dir = '';
export const sleepers: number[] = [];

export const scripts: Record<string, string> = {
  'echo.sh': "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nexec cat\n",
  'env.pl':
    '#!/usr/bin/perl\nuse Cwd;\nprint join("|", getcwd(), $ENV{X}, scalar(@ARGV), join(",", sort keys %ENV));\n',
  'ignore.sh': "#!/bin/sh\nprintf 'Status: 204 No Content\\r\\n\\r\\n'\n",
  'big.py': [
    '#!/usr/bin/python3',
    'import hashlib, sys',
    'out = sys.stdout.buffer',
    'block = bytes(range(256)) * 4096',
    'for _ in range(10): out.write(block)',
    'out.write(hashlib.sha256(sys.stdin.buffer.read()).hexdigest().encode())',
    '',
  ].join('\n'),
  'stderr.pl':
    '#!/usr/bin/perl\nbinmode STDERR;\n$| = 1;\nprint STDERR "one\\ntwo\\r\\nthr";\nprint STDERR "ee \\xc3\\xa9";\nprint "Status: 200 OK\\r\\n\\r\\n";\n',
  'group.sh': '#!/bin/sh\nsleep 100 &\necho "$!"\nwait\n',
  'stubborn.sh': '#!/bin/sh\ntrap \'\' TERM\nsleep 100 &\necho "$!"\nwait\n',
  'sleep.sh': '#!/bin/sh\nexec sleep 100\n',
  'stderr-holder.sh': '#!/bin/sh\nsleep 100 >/dev/null &\necho "$!"\n',
  'escape.sh': '#!/bin/sh\nsetsid sleep 100 &\necho "$!"\nwait\n',
  'no-interpreter.sh': '#!/nonexistent/interpreter\n',
  'dollar0.sh': '#!/bin/sh\necho "$0"\n',
};

beforeAll(async () => {
  dir = await fsp.realpath(await fsp.mkdtemp(join(tmpdir(), 'cgi-fpm-exec-')));
  for (const [name, text] of Object.entries(scripts))
    await fsp.writeFile(join(dir, name), text, { mode: 0o755 });
  await fsp.writeFile(join(dir, 'not-executable.sh'), '#!/bin/sh\n', { mode: 0o644 });
});

afterAll(async () => {
  for (const pid of sleepers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A destination that takes `delayMs`-long turns per write, with a small buffer. */
class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  constructor(highWaterMark = 16 * 1024) {
    super({ highWaterMark });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    setImmediate(callback);
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

export interface Run {
  req: RuntimeRequest;
  sink: Sink;
  lines: string[];
  abort: AbortController;
}

export function request(script: string, body: Readable = Readable.from([]), stdout: Writable = new Sink()): Run {
  const abort = new AbortController();
  const lines: string[] = [];
  const req: RuntimeRequest = {
    scriptFilename: join(dir, script),
    cwd: dir,
    env: { PATH: '/usr/bin:/bin', X: 'x-value' },
    stdin: body,
    stdout,
    onStderrLine: (line) => lines.push(line),
    signal: abort.signal,
  };
  return { req, sink: stdout instanceof Sink ? stdout : new Sink(), lines, abort };
}

/** A body of `total` bytes arriving in 32 KiB pieces, asynchronously (like FCGI_STDIN). */
export function body(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      setImmediate(() => {
        if (sent >= total) return void this.push(null);
        const size = Math.min(32 * 1024, total - sent);
        this.push(Buffer.alloc(size, sent % 251));
        sent += size;
      });
    },
  });
}

export async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** True once `pid` no longer runs (gone, or a zombie waiting for its reaper). */
export function isGone(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    return readFileSync(stat, 'latin1').replace(/^.*\)/, '').startsWith(' Z ');
  } catch {
    return true;
  }
}

export const firstLinePid = (sink: Sink): number => Number(/^(\d+)\n/.exec(sink.text())?.[1] ?? NaN);
