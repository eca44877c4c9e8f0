// This file implements the tests of exec-command.ts from the perspective of a CGI script that
// must see the exact bytes it was sent: a script in a latin1-named directory, named in latin1
// itself, dumping its environment, working directory and argv[0] as hex; and the command chosen
// for text-only requests (no shell in between).
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CgiEnvironment } from '../../cgi/environment.ts';
import { execCommand, printfFormats } from './exec-command.ts';
import { execRuntime } from './exec.ts';
import type { RuntimeRequest } from './types.ts';

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
/** Prints each line as hex, so the test compares bytes, not text. */
const DUMP = `#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
for v in "$QUERY_STRING" "$HTTP_X_RAW" "$TEXT" "$(pwd)" "$0" "$(printf '%s' "$TRAILING"; printf x)"; do
  printf '%s' "$v" | od -An -v -tx1 | tr -d ' \\n'; echo
done
printf '%s' "$BIG" | od -An -v -tx1 | tr -d ' \\n' | sha256sum | cut -c1-64
`;

let base = '';
let dir = Buffer.alloc(0);
let script = Buffer.alloc(0);
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'cgi-fpm-exec-bytes-'));
  dir = Buffer.concat([Buffer.from(base), latin1('/r\xe9p')]);
  script = Buffer.concat([dir, latin1('/caf\xe9 %.sh')]);
  await mkdir(dir);
  await writeFile(script, DUMP, { mode: 0o755 });
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function request(environment: CgiEnvironment, path: Buffer): { req: RuntimeRequest; out: Buffer[] } {
  const out: Buffer[] = [];
  const text = path.toString();
  const req: RuntimeRequest = {
    scriptFilename: text, scriptPath: path, cwd: text.slice(0, text.lastIndexOf('/')), environment,
    env: {}, stdin: Readable.from([]),
    stdout: new Writable({ write(chunk: Buffer, _e, done) { out.push(chunk); done(); } }),
    onStderrLine: () => undefined, signal: new AbortController().signal,
  };
  return { req, out };
}

const hex = (bytes: Buffer | string): string => Buffer.from(bytes).toString('hex');

describe('exec with bytes that are not UTF-8', () => {
  it('gives the script the exact bytes of its environment, directory and name (through the shim)', async () => {
    const environment: CgiEnvironment = Object.assign(Object.create(null) as CgiEnvironment, {
      PATH: '/usr/bin:/bin',
      QUERY_STRING: latin1('a=\x80\x81\xfe\xff&b=%25\\'),
      HTTP_X_RAW: latin1('\xe9t\xe9 "quoted" \'single\' $HOME `x`'),
      TEXT: 'caf\u00e9',
      TRAILING: latin1('\xff\n\n'),
      BIG: Buffer.alloc(100_000, 0xe9), // more than one argument can carry once escaped
    });
    const { req, out } = request(environment, script);
    expect(execCommand(req).file).toBe('/bin/sh');
    const result = await execRuntime(req);
    expect(result).toEqual({ exitCode: 0, signal: null });
    const lines = Buffer.concat(out).toString().split('\n').slice(2, 9);
    expect(lines).toEqual([
      hex(latin1('a=\x80\x81\xfe\xff&b=%25\\')),
      hex(latin1('\xe9t\xe9 "quoted" \'single\' $HOME `x`')),
      hex('caf\u00e9'),
      hex(dir),
      hex(script),
      hex(latin1('\xff\n\nx')),
      createHash('sha256').update(hex(Buffer.alloc(100_000, 0xe9))).digest('hex'),
    ]);
  });

  it('spawns the script itself when every value and the path are UTF-8', async () => {
    const path = Buffer.from(join(base, 'plain.sh'));
    await writeFile(path, DUMP, { mode: 0o755 });
    const environment: CgiEnvironment = Object.assign(Object.create(null) as CgiEnvironment, {
      QUERY_STRING: Buffer.from('q=\u00e9'), TEXT: 'x',
    });
    const { req, out } = request(environment, path);
    expect(execCommand(req)).toMatchObject({ file: path.toString(), args: [], env: { QUERY_STRING: 'q=\u00e9', TEXT: 'x' } });
    await execRuntime(req);
    expect(Buffer.concat(out).toString().split('\n')[2]).toBe(hex('q=\u00e9'));
  });

  it('writes printf formats with only octal escapes, cut below the argument limit', () => {
    expect(printfFormats(latin1("/a b'%\\\xff\n"))).toEqual(["/a b'\\045\\134\\377\\012"]);
    const long = printfFormats(Buffer.alloc(100_000, 0xff));
    expect(long.length).toBe(7);
    expect(long.every((f) => f.length <= 65536 && f.length % 4 === 0)).toBe(true);
    expect(long.join('')).toBe('\\377'.repeat(100_000));
  });
});
