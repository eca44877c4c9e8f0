// This file implements the access log and the slow log (issue 14, item 2) from the perspective
// of an operator reading them as PHP-FPM's behind nginx: one line per answer in `access.format`
// with client, method, URI, status, pool and script — for a script's 200, the router's 404, the
// overload 503, the timeout 504 and the supervisor's own pages — two pools sharing one file; a
// slow request's entry with its method, URI and script; and logrotate's rename + SIGUSR1 moving
// later lines to a new file.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GateSlot } from './helpers/gate.ts';
import { httpRequest, type HttpResponse } from './helpers/http.ts';
import { writeScript } from './helpers/scripts.ts';
import { defaultPool, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const gate = new GateSlot();
const FORMAT = '%R %n "%m %r%Q%q" %s %f %{mili}d "%{HTTP_USER_AGENT}e" %p';
const AGENT = 'access-test/1';

const stack = useStack({
  tcp: true,
  pools: async (paths: StackPaths) => {
    await gate.open(paths.dir, join(paths.root, 'gate.sh'));
    await writeScript(join(paths.root, 'slow'), 'sleep.sh', '#!/bin/sh\nexec sleep 30\n');
    const access = { log: join(paths.dir, 'logs', 'access.log'), format: FORMAT };
    return {
      // First: the pool whose root holds slow/ takes its scripts.
      slow: {
        ...defaultPool(join(paths.root, 'slow'), paths.fastcgiSocket),
        pm: { max_children: 1 }, request_terminate_timeout: '1s', request_slowlog_timeout: '200ms',
        slowlog: join(paths.dir, 'logs', 'slow.log'), access,
      },
      main: { ...defaultPool(paths.root, paths.fastcgiSocket), queue: { max: 0 }, ping: { path: '/ping' }, access },
    };
  },
});

function accessFile(): string {
  return join(stack().dir, 'logs', 'access.log');
}

async function get(path: string): Promise<HttpResponse> {
  const port = stack().tcpPort;
  if (port === undefined) throw new Error('no tcp port');
  return httpRequest({ port, path, headers: { 'user-agent': AGENT } });
}

async function fileLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
}

/** Waits for the access line of `requestLine` (`GET /x?y`) in `file`. */
async function lineFor(requestLine: string, file = accessFile()): Promise<string> {
  return waitUntil(`access line "${requestLine}" in ${file}`,
    async () => (await fileLines(file)).find((l) => l.includes(`"${requestLine}"`)), EVENT_TIMEOUT_MS);
}

/** The fields of a line in {@link FORMAT}. */
function parse(line: string): Record<string, string> {
  const m = /^(\S+) (\S+) "(\S+) (\S+)" (\d+) (\S+) (\d+\.\d{3}) "([^"]*)" (\d+)$/.exec(line);
  if (m === null) throw new Error(`not an access line: ${line}`);
  const [, client = '', pool = '', method = '', uri = '', status = '', script = '', ms = '', agent = '', pid = ''] = m;
  return { client, pool, method, uri, status, script, ms, agent, pid };
}

describe('access.log with PHP-FPM tokens', () => {
  it("logs a script's 200 with client, method, URI, query, status, pool, script and worker pid", async () => {
    expect((await get('/hello.sh?a=1')).status).toBe(200);
    const line = parse(await lineFor('GET /hello.sh?a=1'));
    expect(line).toMatchObject({
      client: '127.0.0.1', pool: 'main', method: 'GET', uri: '/hello.sh?a=1', status: '200',
      script: join(stack().root, 'hello.sh'), agent: AGENT,
    });
    expect(Number(line.pid)).not.toBe(stack().daemon.pid);
  });

  it("logs the router's 404 under the pool whose rules refused it, with the script asked for", async () => {
    expect((await get('/missing.sh')).status).toBe(404);
    const line = parse(await lineFor('GET /missing.sh'));
    expect(line).toMatchObject({ client: '127.0.0.1', pool: 'main', status: '404', script: join(stack().root, 'missing.sh') });
    expect(Number(line.pid)).toBe(stack().daemon.pid);
    const logged = stack().daemon.logs.find((e) => e.msg === 'script not found');
    expect(logged).toMatchObject({ pool: 'main', script: join(stack().root, 'missing.sh') });
  });

  it("logs the supervisor's own pages (ping)", async () => {
    expect((await get('/ping')).text).toBe('pong');
    expect(parse(await lineFor('GET /ping'))).toMatchObject({ pool: 'main', status: '200', script: '/ping' });
  });

  it('logs the 503 of a full pool', async () => {
    const g = gate.get();
    const held = ['full-a', 'full-b'].map((name) => get(`/gate.sh?${name}`));
    try {
      await g.waitStarted('full-a');
      await g.waitStarted('full-b');
      expect((await get('/hello.sh?overloaded')).status).toBe(503);
    } finally {
      await g.release('full-a', 'full-b');
    }
    await Promise.all(held);
    expect(parse(await lineFor('GET /hello.sh?overloaded'))).toMatchObject({ pool: 'main', status: '503', client: '127.0.0.1' });
    expect(parse(await lineFor('GET /gate.sh?full-a'))).toMatchObject({ status: '200' });
  });

  it('logs the 504 of request_terminate_timeout, and the slow log has the entry with method, URI and script', async () => {
    expect((await get('/slow/sleep.sh?late')).status).toBe(504);
    const line = parse(await lineFor('GET /slow/sleep.sh?late'));
    expect(line).toMatchObject({ pool: 'slow', status: '504', script: join(stack().root, 'slow', 'sleep.sh') });
    expect(Number(line.ms)).toBeGreaterThanOrEqual(1000);
    const slowFile = join(stack().dir, 'logs', 'slow.log');
    const entry = await waitUntil('slow log entry', async () => {
      const text = await readFile(slowFile, 'utf8').catch(() => '');
      return text.includes('request = GET /slow/sleep.sh?late') ? text : undefined;
    }, EVENT_TIMEOUT_MS);
    expect(entry).toMatch(/^\[\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\] {2}\[pool slow\] pid \d+$/m);
    expect(entry).toContain(`script_filename = ${join(stack().root, 'slow', 'sleep.sh')}`);
    expect(stack().daemon.logs.find((e) => e.msg === 'slow request')).toMatchObject({
      method: 'GET', uri: '/slow/sleep.sh?late', script: join(stack().root, 'slow', 'sleep.sh'),
    });
  });

  it('moves later lines to a new file after a rename and SIGUSR1', async () => {
    const file = accessFile();
    await rename(file, `${file}.1`);
    const daemon = stack().daemon;
    const before = daemon.logs.length;
    process.kill(daemon.pid, 'SIGUSR1');
    await waitUntil('access log reopened', () =>
      daemon.logs.slice(before).find((e) => e.msg === 'log file reopened' && e.file === file), EVENT_TIMEOUT_MS);
    expect((await get('/hello.sh?rotated')).status).toBe(200);
    expect(parse(await lineFor('GET /hello.sh?rotated', file))).toMatchObject({ status: '200', pool: 'main' });
    expect((await fileLines(`${file}.1`)).filter((l) => l.includes('rotated'))).toEqual([]);
    expect((await fileLines(`${file}.1`)).some((l) => l.includes('"GET /hello.sh?a=1"'))).toBe(true);
  });
});
