// This file implements the command an `exec` run starts, from the perspective of a worker that
// must hand execve(2) the bytes a web server sent while Node's `spawn` takes strings (and writes
// them as UTF-8): every value that is valid UTF-8 travels as a string (the fast path: nearly
// every request), and only when one is not (a latin1 query string or header, a script whose
// file name is latin1) does a tiny `/bin/sh` shim rebuild those bytes with `printf` and exec the
// script, costing one exec of the shell and one fork more.
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
 * The shim: its arguments are `printf` formats whose only escapes are `\ooo`; printed one after
 * the other they are a shell snippet (`export NAME='bytes'`…, `cd 'dir'`, `exec 'script'`, the
 * bytes inside single quotes) that the shell evaluates: one command substitution (one fork) for
 * all of it. No shell variable is set, so none of the script's own is overwritten.
 */
const SHIM = 'eval "$(for f do printf "$f"; done)"';
/** Bound on one argument's length (Linux `MAX_ARG_STRLEN` is 128 KiB). */
const MAX_ARGUMENT_BYTES = 64 * 1024;
const QUOTE = Buffer.from("'");
const ESCAPED_QUOTE = Buffer.from("'\\''");

/** Names `export` can set (POSIX shell identifiers). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SLASH = 0x2f;

/**
 * How to run `req`'s script with its exact bytes: its path and its environment as
 * `RuntimeRequest` gives them when both are UTF-8 (or when the request carries text only),
 * else through the shim. A variable whose value is not UTF-8 and whose name is not a shell
 * identifier (no web server sends one) is passed decoded, as text. `program`, when given, is
 * executed instead of the script's path (`/proc/self/fd/3`: the descriptor the worker checked),
 * in the script's directory all the same.
 * @see RFC 3875 §7.2 (the script's environment and working directory)
 */
export function execCommand(req: RuntimeRequest, program?: string): ExecCommand {
  const environment = req.environment;
  const path = program === undefined ? req.scriptPath : Buffer.from(program);
  const file = program ?? req.scriptFilename;
  if (environment === undefined && path === undefined) {
    return { file, args: [], cwd: req.cwd, env: req.env };
  }
  const env = Object.create(null) as Record<string, string>;
  const raw: Buffer[] = [];
  for (const name in environment) {
    const value = environment[name];
    if (value === undefined) continue;
    if (typeof value === 'string') env[name] = value;
    else if (isUtf8(value) || !IDENTIFIER.test(name)) env[name] = value.toString('utf8');
    else raw.push(Buffer.from(`export ${name}=`), quoted(value), NEWLINE);
  }
  if (environment === undefined) Object.assign(env, req.env);
  if (raw.length === 0 && (path === undefined || isUtf8(path))) {
    return { file, args: [], cwd: req.cwd, env };
  }
  const script = path ?? Buffer.from(req.scriptFilename);
  const named = req.scriptPath ?? Buffer.from(req.scriptFilename);
  const dir = named.subarray(0, Math.max(1, named.lastIndexOf(SLASH)));
  const snippet = Buffer.concat([...raw, CD, quoted(dir), EXIT, EXEC, quoted(script), NEWLINE]);
  return { file: '/bin/sh', args: ['-c', SHIM, 'cgi-fpm-exec', ...printfFormats(snippet)], cwd: '/', env };
}

const NEWLINE = Buffer.from('\n');
const CD = Buffer.from('cd ');
const EXIT = Buffer.from(' || exit 126\n');
const EXEC = Buffer.from('exec ');

/** `bytes` in single quotes for the shell: every byte literal, `'` written as `'\''`. */
function quoted(bytes: Buffer): Buffer {
  const parts: Buffer[] = [QUOTE];
  let start = 0;
  for (let at = bytes.indexOf(0x27); at !== -1; at = bytes.indexOf(0x27, start)) {
    parts.push(bytes.subarray(start, at), ESCAPED_QUOTE);
    start = at + 1;
  }
  parts.push(bytes.subarray(start), QUOTE);
  return Buffer.concat(parts);
}

/**
 * `bytes` as `printf` formats that, printed in order, write exactly them: printable ASCII as
 * is (but `\` and `%`), every other byte `\ooo`; cut between escapes so that no format passes
 * {@link MAX_ARGUMENT_BYTES}.
 */
export function printfFormats(bytes: Buffer): string[] {
  const formats: string[] = [];
  let format = '';
  for (const byte of bytes) {
    if (format.length >= MAX_ARGUMENT_BYTES) {
      formats.push(format);
      format = '';
    }
    const literal = byte >= 0x20 && byte <= 0x7e && byte !== 0x5c && byte !== 0x25;
    format += literal ? String.fromCharCode(byte) : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  formats.push(format);
  return formats;
}
