// This file implements the head-first site of issue 11.1 from the perspective of a suite that
// shows the response waiting for the body: one script per runtime that writes its CGI head
// (and `?pre=N` bytes) before it reads its body, then the body's length and sha256 (`?read=0`:
// it never reads it); a pool per runtime (exec, python, node, handler) on its own socket; a
// request body streamed from a generator (1 GB never sits in the test's memory); and RSS samples
// of the daemon's processes.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { TomlDocument } from './config-file.ts';
import { childPids } from './processes.ts';
import { SCRIPT_PATH } from './stack.ts';

/** The runtimes, each with its pool of the same name. */
export const HEAD_FIRST_POOLS = ['exec', 'python', 'node', 'handler'] as const;
export type HeadFirstPool = (typeof HEAD_FIRST_POOLS)[number];

/** `[pool, script]`: the exec pool runs both scripts by fork/exec. */
export const HEAD_FIRST_SCRIPTS: readonly (readonly [HeadFirstPool, string])[] = [
  ['exec', 'head-first.py'], ['exec', 'head-first.js'], ['python', 'head-first.py'],
  ['node', 'head-first.js'], ['handler', 'head-first'],
];

const PYTHON = `#!/usr/bin/python3
import hashlib, os, sys, urllib.parse
q = urllib.parse.parse_qs(os.environ.get('QUERY_STRING', ''))
out = sys.stdout.buffer
out.write(b'Content-Type: text/plain\\r\\n\\r\\n' + b'x' * int(q.get('pre', ['0'])[0]))
out.flush()
h, n, left = hashlib.sha256(), 0, int(os.environ.get('CONTENT_LENGTH') or 0) if q.get('read', ['1'])[0] == '1' else 0
while left > 0 and (chunk := sys.stdin.buffer.read(min(left, 65536))):
    h.update(chunk); n += len(chunk); left -= len(chunk)
out.write(f'\\n{n} {h.hexdigest()}\\n'.encode())
`;

const NODE = `#!/usr/bin/env node
const { createHash } = require('node:crypto');
const q = new URLSearchParams(process.env.QUERY_STRING ?? '');
process.stdout.write('Content-Type: text/plain\\r\\n\\r\\n' + 'x'.repeat(Number(q.get('pre') ?? 0)));
const hash = createHash('sha256');
let n = 0;
const done = () => { process.stdout.write('\\n' + n + ' ' + hash.digest('hex') + '\\n'); };
if (q.get('read') === '0') done();
else process.stdin.on('data', (c) => { hash.update(c); n += c.length; }).on('end', done);
`;

const HANDLER = `const { createHash } = require('node:crypto');
module.exports = (req, res) => {
  const q = new URL(req.url, 'http://localhost').searchParams;
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.flushHeaders();
  if (q.has('pre')) res.write('x'.repeat(Number(q.get('pre'))));
  const hash = createHash('sha256');
  let n = 0;
  const done = () => { res.end('\\n' + n + ' ' + hash.digest('hex') + '\\n'); };
  if (q.get('read') === '0') done();
  else req.on('data', (c) => { hash.update(c); n += c.length; }).on('end', done);
};
`;

/** The answer of a head-first script: `pre` bytes of `x`, then the length and sha256 it read. */
export function headFirstAnswer(pre: number, bytes: number, sha256: string): string {
  return `${'x'.repeat(pre)}\n${bytes} ${sha256}\n`;
}

/** sha256 of nothing (the answer of `?read=0`). */
export const EMPTY_SHA256 = createHash('sha256').digest('hex');

/**
 * Writes the scripts under `docRoot/POOL/` (mode 0755) and the handler module beside them.
 * @returns each pool's root, and the handler module's path
 */
export async function writeHeadFirstSite(docRoot: string): Promise<{ roots: Record<HeadFirstPool, string>; module: string }> {
  const roots = Object.fromEntries(HEAD_FIRST_POOLS.map((p) => [p, join(docRoot, p)])) as Record<HeadFirstPool, string>;
  for (const root of Object.values(roots)) await mkdir(root, { recursive: true, mode: 0o755 });
  for (const [pool, name] of HEAD_FIRST_SCRIPTS) {
    if (pool === 'handler') continue;
    const file = join(roots[pool], name);
    await writeFile(file, name.endsWith('.py') ? PYTHON : NODE);
    await chmod(file, 0o755);
  }
  const module = join(docRoot, 'head-first-handler.cjs');
  await writeFile(module, HANDLER);
  return { roots, module };
}

/** The `[pools]` table: one pool per runtime, each on its socket (mode 0666 for Apache). */
export function headFirstPools(roots: Record<HeadFirstPool, string>, sockets: Record<HeadFirstPool, string>, module: string): TomlDocument {
  const common = {
    'listen.mode': '0666', request_terminate_timeout: '1800s', env: { PATH: SCRIPT_PATH }, clear_env: true,
    pm: { max_children: 1 },
  };
  const pool = (name: HeadFirstPool, runtime: string, match: string[]): TomlDocument =>
    ({ ...common, listen: sockets[name], root: roots[name], match, runtime });
  return {
    exec: pool('exec', 'exec', ['*.py', '*.js']),
    python: pool('python', 'python', ['*.py']),
    node: pool('node', 'node', ['*.js']),
    handler: { ...pool('handler', 'handler', ['**']), 'handler.module': module },
  };
}

/** What {@link postStream} got back, and the sha256 of what it sent. */
export interface StreamedResult {
  readonly status: number;
  readonly text: string;
  readonly sentSha256: string;
}

/**
 * POSTs `bytes` of a generated body (64 KiB pieces of one random block, each stamped with its
 * index: a lost or reordered piece changes the sha256) with `Content-Length`, honouring the
 * socket's backpressure, and reads the whole answer.
 */
export function postStream(target: { socketPath?: string; port?: number }, path: string, bytes: number,
  timeoutMs: number): Promise<StreamedResult> {
  const block = randomBytes(64 * 1024);
  const hash = createHash('sha256');
  return new Promise((resolve, reject) => {
    const req = request({
      ...(target.port === undefined ? { socketPath: target.socketPath } : { host: '127.0.0.1', port: target.port }),
      path, method: 'POST', agent: false,
      headers: { host: 'localhost', 'content-type': 'application/octet-stream', 'content-length': bytes },
    });
    const timer = setTimeout(() => { req.destroy(new Error(`POST ${path}: no answer within ${timeoutMs} ms`)); }, timeoutMs);
    req.once('error', (err) => { clearTimeout(timer); reject(err); });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), sentSha256: hash.digest('hex') });
      });
    });
    let sent = 0;
    let index = 0;
    const pump = (): void => {
      while (sent < bytes) {
        const piece = Buffer.from(block.subarray(0, Math.min(block.length, bytes - sent)));
        if (piece.length >= 4) piece.writeUInt32BE(index, 0);
        index += 1;
        sent += piece.length;
        hash.update(piece);
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** Resident set size of `pid` in bytes (`/proc/PID/status` VmRSS), 0 when it is gone. */
function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** How much each process grew while sampled (peak minus its first sample), in bytes. */
export interface RssGrowth {
  readonly supervisorBytes: number;
  /** The largest growth of any worker or worker's child (python runner, CGI process). */
  readonly workerBytes: number;
  /** Peak RSS seen per process, for the log. */
  readonly peaks: ReadonlyMap<number, number>;
}

/** The daemon's descendants (workers and their children), from /proc. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (let queue = childPids(pid); queue.length > 0;) {
    out.push(...queue);
    queue = queue.flatMap(childPids);
  }
  return out;
}

/** Samples the daemon's and its descendants' RSS every 100 ms until the returned stop is called. */
export function sampleRss(daemonPid: number): () => RssGrowth {
  const first = new Map<number, number>();
  const peaks = new Map<number, number>();
  const record = (pid: number): void => {
    const rss = rssBytes(pid);
    if (rss === 0) return;
    if (!first.has(pid)) first.set(pid, rss);
    peaks.set(pid, Math.max(peaks.get(pid) ?? 0, rss));
  };
  const sample = (): void => {
    record(daemonPid);
    for (const pid of descendants(daemonPid)) record(pid);
  };
  sample();
  const timer = setInterval(sample, 100);
  return () => {
    clearInterval(timer);
    sample();
    const growth = (pid: number): number => (peaks.get(pid) ?? 0) - (first.get(pid) ?? 0);
    const others = [...peaks.keys()].filter((pid) => pid !== daemonPid);
    return { supervisorBytes: growth(daemonPid), workerBytes: Math.max(0, ...others.map(growth)), peaks };
  };
}
