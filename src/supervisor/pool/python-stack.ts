// This file implements the slow log's stack sample of a python pool from the perspective of the
// supervisor looking at a runner that is busy in a script: the runner (persistent isolation)
// has faulthandler dump its running thread's frames on SIGRTMIN+5 into an unlinked file whose
// name starts with `cgi-fpm-stack-` (runner.py); the supervisor finds that file among the
// runner's /proc/PID/fd, sends the signal only when it is there (the signal's default action
// is to terminate) and its /proc/PID/status says it handles it, and reads what the dump added. Frames of the runner's own modules are cut.
import { open, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** SIGRTMIN + 5 as glibc numbers it (python's `signal.SIGRTMIN + 5`, runner.py). */
export const STACK_SIGNAL = 39;
/** The dump file's name prefix (runner.py `STACK_PREFIX`). */
const STACK_PREFIX = 'cgi-fpm-stack-';
/** How long the dump may take to appear, ms, and how often the file is looked at. */
const DUMP_WAIT_MS = 1000;
const DUMP_POLL_MS = 20;

/** A stack sample: the frames (innermost first, as PHP-FPM's), or why there are none. */
export type StackSample = { readonly stack: readonly string[] } | { readonly noStack: string };

/**
 * The frames of faulthandler's `text` (`  File "/srv/x.py", line 6 in burn`), innermost first,
 * as `burn() /srv/x.py:6`, without the runner's own frames (`runner.py`, `_cgi_fpm_*.py`).
 */
export function parseFaulthandler(text: string): string[] {
  const frames: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^ {2}File "(.*)", line (\d+) in (.*)$/.exec(line);
    if (m === null) continue;
    const [, file = '', lineNo = '', name = ''] = m;
    const base = file.slice(file.lastIndexOf('/') + 1);
    if (base === 'runner.py' || base.startsWith('_cgi_fpm_')) continue;
    frames.push(`${name}() ${file}:${lineNo}`);
  }
  return frames;
}

/** The runner's dump file, as `/proc/PID/fd/N`, if it has one. */
async function dumpPath(pid: number): Promise<string | undefined> {
  const dir = `/proc/${pid}/fd`;
  for (const fd of await readdir(dir).catch(() => [])) {
    const target = await readlink(`${dir}/${fd}`).catch(() => '');
    if (target.slice(target.lastIndexOf('/') + 1).startsWith(STACK_PREFIX)) return `${dir}/${fd}`;
  }
  return undefined;
}

/**
 * True when process `pid` has a handler for `signal` (its `SigCgt` mask in /proc/PID/status):
 * a runner whose dump handler a script replaced and put back to the default is not signalled.
 */
export function catches(status: string, signal: number): boolean {
  const hex = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (hex === undefined) return false;
  return ((BigInt(`0x${hex}`) >> BigInt(signal - 1)) & 1n) === 1n;
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => ({ size: -1 }))).size;
}

/**
 * Asks the python runner `runnerPid` for its running frames. Never rejects.
 * @param kill `process.kill`'s shape (injected for tests)
 */
export async function samplePythonStack(
  runnerPid: number, kill: (pid: number, signal: number) => void = process.kill.bind(process),
): Promise<StackSample> {
  const path = await dumpPath(runnerPid);
  if (path === undefined) return { noStack: 'the python runner has no stack dump file (isolation "fork", or no writable TMPDIR)' };
  if (!catches(await readFile(`/proc/${runnerPid}/status`, 'latin1').catch(() => ''), STACK_SIGNAL)) {
    return { noStack: 'the python runner no longer handles the stack signal (a script replaced its handler)' };
  }
  const before = await sizeOf(path);
  try {
    kill(runnerPid, STACK_SIGNAL);
  } catch (err) {
    return { noStack: `cannot signal the python runner: ${(err as Error).message}` };
  }
  // Wait until the dump has grown and stopped growing (faulthandler writes it in pieces).
  let size = before;
  for (let waited = 0; waited < DUMP_WAIT_MS; waited += DUMP_POLL_MS) {
    await sleep(DUMP_POLL_MS);
    const now = await sizeOf(path);
    if (now > before && now === size) break;
    size = now;
  }
  if (size <= before) return { noStack: 'the python runner wrote no stack dump' };
  const file = await open(path, 'r').catch(() => undefined);
  if (file === undefined) return { noStack: 'cannot read the python runner\'s stack dump' };
  try {
    const buffer = Buffer.alloc(Math.min(size - before, 64 * 1024));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, before);
    const frames = parseFaulthandler(buffer.subarray(0, bytesRead).toString('utf8'));
    return frames.length > 0 ? { stack: frames } : { noStack: 'the python runner is in none of the script\'s frames' };
  } finally {
    await file.close();
  }
}
