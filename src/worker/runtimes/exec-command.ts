// This file implements the command an `exec` run starts, from the perspective of a worker that
// must hand execve(2) the bytes a web server sent while Node's `spawn` takes strings (and writes
// them as UTF-8): every value that is valid UTF-8 travels as a string (the fast path: nearly
// every request), and only when one is not (a latin1 query string or header, a script whose
// file name is latin1) does a tiny `/bin/sh` shim rebuild those bytes with `printf` and exec the
// script, costing one more exec of the shell.
import { isUtf8 } from 'node:buffer';
import type { RuntimeRequest } from './types.ts';

/** What to hand `spawn`: the program, its arguments, its directory and environment. */
export interface ExecCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
}

/**
 * The shim: `$1` the directory, then NAME FORMAT pairs up to `--`, then the script; each FORMAT
 * is a `printf` format whose only escapes are `\ooo` (so `%` and `\` are literal bytes). A value
 * gets a guard `x` that the expansion strips, as command substitution drops trailing newlines;
 * NAME is an identifier (checked before), so the `eval` sees no data. No shell variable is used,
 * so none of the script's own can be overwritten.
 */
const SHIM = [
  'cd "$(printf "$1")" || exit 126',
  'shift',
  'while [ "$1" != -- ]; do export "$1=$(printf "$2x")" && eval "export $1=\\"\\${$1%x}\\"" && shift 2 || exit 126; done',
  'exec "$(printf "$2")"',
].join('\n');

/** Names `export` can set (POSIX shell identifiers). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SLASH = 0x2f;

/**
 * How to run `req`'s script with its exact bytes: its path and its environment as
 * `RuntimeRequest` gives them when both are UTF-8 (or when the request carries text only),
 * else through the shim. A variable whose value is not UTF-8 and whose name is not a shell
 * identifier (no web server sends one) is passed decoded, as text.
 * @see RFC 3875 §7.2 (the script's environment and working directory)
 */
export function execCommand(req: RuntimeRequest): ExecCommand {
  const environment = req.environment;
  const path = req.scriptPath;
  if (environment === undefined && path === undefined) {
    return { file: req.scriptFilename, args: [], cwd: req.cwd, env: req.env };
  }
  const env = Object.create(null) as Record<string, string>;
  const raw: string[] = [];
  for (const name in environment) {
    const value = environment[name];
    if (value === undefined) continue;
    if (typeof value === 'string') env[name] = value;
    else if (isUtf8(value) || !IDENTIFIER.test(name)) env[name] = value.toString('utf8');
    else raw.push(name, printfFormat(value));
  }
  if (environment === undefined) Object.assign(env, req.env);
  if (raw.length === 0 && (path === undefined || isUtf8(path))) {
    return { file: req.scriptFilename, args: [], cwd: req.cwd, env };
  }
  const script = path ?? Buffer.from(req.scriptFilename);
  const dir = script.subarray(0, Math.max(1, script.lastIndexOf(SLASH)));
  return {
    file: '/bin/sh',
    args: ['-c', SHIM, 'cgi-fpm-exec', printfFormat(dir), ...raw, '--', printfFormat(script)],
    cwd: '/',
    env,
  };
}

/** `bytes` as a `printf` format that writes exactly them: safe ASCII as is, the rest `\ooo`. */
export function printfFormat(bytes: Buffer): string {
  let format = '';
  for (const byte of bytes) {
    const safe = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
      || byte === 0x2f || byte === 0x2e || byte === 0x2d || byte === 0x5f;
    format += safe ? String.fromCharCode(byte) : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return format;
}
