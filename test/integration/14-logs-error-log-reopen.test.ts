// This file implements `error_log` and SIGUSR1 (issue 14, item 2's log file pieces) from the
// perspective of an operator rotating logs with logrotate: the daemon's and its workers' JSON
// lines go to the file (none to stdout), every line whole; after the file is renamed and the
// daemon gets SIGUSR1, the supervisor's and the running workers' later lines go to a new file
// at the configured path, and none to the renamed one.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from './helpers/daemon.ts';
import { freeLoopbackPort } from './helpers/free-port.ts';
import { writeScript } from './helpers/scripts.ts';
import { SCRIPT_PATH } from './helpers/stack.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { waitUntil } from './helpers/wait.ts';

/** A CGI script that writes its query to stderr, then answers it. */
const STDERR_SCRIPT = [
  '#!/bin/sh',
  'echo "stderr says $QUERY_STRING" >&2',
  `printf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' "$QUERY_STRING"`,
  '',
].join('\n');

let tmp: TempDir;
let daemon: Daemon | undefined;
let port = 0;
let logFile = '';

async function lines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitForLine(file: string, what: string, test: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  try {
    return await waitUntil(`${what} in ${file}`, async () => (await lines(file)).find(test), 20_000);
  } catch (err) {
    const seen = (await readFile(file, 'utf8').catch(() => '(no file)')).slice(-4000);
    throw new Error(`${(err as Error).message}; the file holds:\n${seen}\nstdout/stderr:\n${daemon?.output() ?? ''}`, { cause: err });
  }
}

beforeAll(async () => {
  tmp = await createTempDir('cgi-fpm-errlog-');
  await writeScript(join(tmp.path, 'www'), 'err.sh', STDERR_SCRIPT);
  port = await freeLoopbackPort();
  logFile = join(tmp.path, 'logs', 'cgi-fpm.log');
  daemon = await startDaemon({
    dir: tmp.path,
    awaitReady: false,
    args: ['--http', `127.0.0.1:${port}`],
    config: {
      global: { log_level: 'info', error_log: 'logs/cgi-fpm.log' },
      pools: {
        www: { listen: join(tmp.path, 'www.sock'), root: join(tmp.path, 'www'), pm: { max_children: 1 }, env: { PATH: SCRIPT_PATH } },
      },
    },
  });
  await waitForLine(logFile, 'ready', (e) => e.msg === 'ready to handle connections');
});

afterAll(async () => {
  await daemon?.stop();
  await tmp.remove();
});

async function get(query: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/err.sh?${query}`, { signal: AbortSignal.timeout(20_000) });
  expect(res.status).toBe(200);
  return res.text();
}

describe('error_log = "logs/cgi-fpm.log"', () => {
  it("holds the supervisor's and the workers' lines, whole, and stdout none", async () => {
    const d = daemon!;
    expect(await get('first')).toBe('first\n');
    const stderrLine = await waitForLine(logFile, 'cgi stderr', (e) => e.msg === 'cgi stderr' && String(e.line).includes('first'));
    expect(stderrLine.pid).not.toBe(d.pid);
    await waitForLine(logFile, 'request', (e) => e.msg === 'request' && e.status === 200);
    const ready = await waitForLine(logFile, 'ready', (e) => e.msg === 'ready to handle connections');
    expect(ready.pid).toBe(d.pid);
    expect(d.logs).toEqual([]);
  });

  it('moves every later line to a new file after a rename and SIGUSR1', async () => {
    const d = daemon!;
    const rotated = `${logFile}.1`;
    await rename(logFile, rotated);
    process.kill(d.pid, 'SIGUSR1');
    const reopened = await waitForLine(logFile, 'reopened', (e) => e.msg === 'log file reopened');
    expect(reopened.file).toBe(logFile);
    expect((await lines(rotated)).some((e) => e.msg === 'received signal, reopening logs')).toBe(true);

    expect(await get('second')).toBe('second\n');
    await waitForLine(logFile, 'cgi stderr', (e) => e.msg === 'cgi stderr' && String(e.line).includes('second'));
    await waitForLine(logFile, 'request', (e) => e.msg === 'request' && e.status === 200);
    expect((await lines(rotated)).filter((e) => JSON.stringify(e).includes('second'))).toEqual([]);

    expect(await d.stop()).toBe(0);
    await waitForLine(logFile, 'exit', (e) => e.msg === 'exiting, bye-bye');
    expect(d.logs).toEqual([]);
  });
});
