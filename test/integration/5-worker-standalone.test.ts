// This file implements issue 5's standalone worker checks from the perspective of the process
// that spawns `cgi-fpm worker --pool NAME -c FILE` with a listening socket on fd 0 (spawn-fcgi
// style, no Apache): the exit codes of a bad start, script resolution in the worker (Apache's
// prefix stripped, 403/404 with the supervisor's log events), FCGI_KEEP_CONN, one request at a
// time across connections, SIGTERM finishing the request in flight, and leaving when orphaned.
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { writeConfigFile } from './helpers/config-file.ts';
import { fcgiRequest, openRawConnection } from './helpers/fastcgi-client.ts';
import { fcgiKeepConnSequence } from './helpers/fastcgi-keep-conn.ts';
import { encodeRequest, FCGI, RecordReader } from './helpers/fastcgi-wire.ts';
import { copyFixtures, findMarkers } from './helpers/fixtures.ts';
import { isProcessAlive, killQuietly, waitForProcessesGone } from './helpers/processes.ts';
import { defaultPool } from './helpers/stack.ts';
import { startStandaloneWorker, type StandaloneWorker } from './helpers/standalone-worker.ts';
import { writeScript } from './helpers/scripts.ts';
import { Gate, released } from './helpers/gate.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

let tmp: TempDir | undefined;
let gate: Gate | undefined;
let dir = '';
let root = '';
let configFile = '';
let sockets = 0;
const started: StandaloneWorker[] = [];

beforeAll(async () => {
  tmp = await createTempDir('cgi-fpm-sa-');
  dir = await realpath(tmp.path);
  root = (await copyFixtures(dir)).root;
  gate = await Gate.open(join(dir, 'gate'));
  await writeScript(root, 'hold.sh', gate.shScript());
  configFile = join(dir, 'cgi-fpm.toml');
  await writeConfigFile(configFile, {
    global: { log_level: 'info' },
    pools: {
      main: defaultPool(root, join(dir, 'unused.sock')),
      other: defaultPool(root, join(dir, 'unused2.sock')),
    },
  });
});

afterEach(() => {
  for (const worker of started.splice(0)) {
    killQuietly(worker.pid, 'SIGKILL');
    for (const e of worker.logs) if (e.msg === 'worker ready') killQuietly(Number(e.pid), 'SIGKILL');
  }
});

afterAll(async () => {
  if (process.env.CGI_FPM_IT_KEEP_TMP === undefined) await tmp?.remove();
});

async function worker(
  fork = false,
  config = configFile,
): Promise<{ w: StandaloneWorker; socketPath: string }> {
  const socketPath = join(dir, `w${++sockets}.sock`);
  const w = await startStandaloneWorker({ socketPath, configFile: config, pool: 'main', fork });
  started.push(w);
  return { w, socketPath };
}

function get(socketPath: string, script: string, overrides: Record<string, string | undefined> = {}) {
  return fcgiRequest({ socketPath, params: nginxLikeParams(root, script, overrides) });
}

describe('cgi-fpm worker: start', () => {
  it('exits 78 naming an unknown pool and listing the pools', async () => {
    const result = await runCli(['worker', '--pool', 'nope', '-c', configFile], dir);
    expect(result.code).toBe(78);
    expect(result.stderr).toBe(`cgi-fpm worker: no pool "nope" in ${configFile} (pools: main, other)\n`);
  });

  it('exits 70 when fd 0 is not a listening socket', async () => {
    const result = await runCli(['worker', '--pool', 'main', '-c', configFile], dir);
    expect(result.code).toBe(70);
    expect(result.stderr).toContain('"msg":"worker failed to start"');
    expect(result.stderr).toContain('fd 0 is not a listening socket');
  });

  it('exits 64 without --pool', async () => {
    expect((await runCli(['worker', '-c', configFile], dir)).code).toBe(64);
  });
});

describe('cgi-fpm worker: identity', () => {
  it("takes the pool's umask, and its user when started as root (else refuses that pool, exit 70)", async () => {
    const script =
      '#!/bin/sh\nprintf \'Content-Type: text/plain\\r\\n\\r\\n\'\necho "uid=$(id -u) umask=$(umask)"\n';
    await writeScript(root, 'whoami.sh', script);
    const config = join(dir, 'nobody.toml');
    const pool = { ...defaultPool(root, join(dir, 'unused3.sock')), user: 'nobody', umask: '0027' };
    await writeConfigFile(config, { global: { log_level: 'info' }, pools: { main: pool } });
    const nobody = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
    if (process.getuid?.() === 0) {
      const { socketPath } = await worker(false, config);
      const res = await get(socketPath, '/whoami.sh');
      expect(parseCgiResponse(res.stdout).body.toString()).toBe(`uid=${nobody} umask=0027\n`);
    } else {
      const result = await runCli(['worker', '--pool', 'main', '-c', config], dir);
      expect(result.code).toBe(70);
      expect(result.stderr).toContain('user \\"nobody\\"');
      expect(result.stderr).toContain('cannot switch to it');
    }
  });
});

describe('cgi-fpm worker: requests on fd 0', () => {
  it('runs a script, resolving SCRIPT_FILENAME itself with the Apache prefix and params split per record', async () => {
    const { w, socketPath } = await worker();
    const res = await fcgiRequest({
      socketPath,
      paramsPerRecord: true,
      params: nginxLikeParams(root, '/path-info.sh', {
        SCRIPT_FILENAME: `proxy:fcgi://localhost${root}/path-info.sh/a/b`,
        PATH_INFO: undefined,
      }),
    });
    expect(res.stdout.toString()).toContain('PATH_INFO=/a/b\nSCRIPT_NAME=/path-info.sh\n');
    const line = await w.waitForLog((e) => e.msg === 'request');
    expect(line).toMatchObject({ pool: 'main', status: 200, script: join(root, 'path-info.sh') });
  });

  it.each([
    ['/nope.sh', 404, 'script not found'],
    ['/readme.txt', 403, 'script refused'],
    ['/notexec.py', 403, 'script refused'],
    ['/escape.py', 403, 'script refused'],
  ])('%s: %i with the log event "%s", nothing run', async (script, status, event) => {
    const { w, socketPath } = await worker();
    const res = await get(socketPath, script);
    expect(parseCgiResponse(res.stdout).status).toBe(status);
    const entry = await w.waitForLog((e) => e.msg === event);
    expect(entry.script).toBe(`${root}${script}`);
    expect(typeof entry.reason).toBe('string');
    expect(await w.waitForLog((e) => e.msg === 'request')).toMatchObject({ status });
    expect(await findMarkers(dir)).toEqual([]);
  });

  it('serves several requests on one FCGI_KEEP_CONN connection and keeps it open', async () => {
    const { socketPath } = await worker();
    const params = nginxLikeParams(root, '/hello.sh');
    const { responses, stillOpen } = await fcgiKeepConnSequence(socketPath, [
      { params },
      { params },
      { params },
    ]);
    expect(responses.map((r) => parseCgiResponse(r.stdout).status)).toEqual([200, 200, 200]);
    expect(stillOpen).toBe(true);
  });

  it('serves one request at a time: a second connection waits for the first', async () => {
    const { w, socketPath } = await worker();
    const [a, b] = await Promise.all([get(socketPath, '/slow-2s.sh'), get(socketPath, '/slow-2s.sh')]);
    expect([a, b].map((r) => r.stdout.toString())).toEqual([
      expect.stringContaining('slept 2s'),
      expect.stringContaining('slept 2s'),
    ]);
    // stderr may arrive after the responses: wait for both request lines.
    const lines = await waitUntil(
      'two request lines',
      () => {
        const found = w.logs.filter((e) => e.msg === 'request');
        return found.length === 2 && found;
      },
      EVENT_TIMEOUT_MS,
    );
    // The worker's own measure of each request: the second began once the first had ended.
    const [first, second] = lines.map((e) => ({ start: Number(e.time) - Number(e.ms), end: Number(e.time) }));
    expect(second!.start).toBeGreaterThanOrEqual(first!.end - 5);
  });

  it('node runtime: a connection that waits during a run is not the script\'s leftover (no recycle, both answered)', async () => {
    // Found by the lean helper (session 20): the waiting connection's pipe counted as something
    // the script left running, so the worker recycled (SIGTERM) after the first request.
    await writeScript(root, 'hold-node.js', [
      "const { existsSync, writeFileSync } = require('node:fs');",
      `const gate = ${JSON.stringify(gate!.dir)};`,
      "const name = process.env.QUERY_STRING;",
      "writeFileSync(gate + '/started-' + name, String(process.pid));",
      "const wait = () => { if (existsSync(gate + '/release-' + name)) process.stdout.write('Content-Type: text/plain\\r\\n\\r\\nreleased ' + name + '\\n'); else setTimeout(wait, 20); };",
      'wait();',
      '',
    ].join('\n'));
    const nodeConfig = join(dir, 'cgi-fpm-node.toml');
    await writeConfigFile(nodeConfig, {
      global: { log_level: 'info' },
      pools: { main: { ...defaultPool(root, join(dir, 'unused3.sock')), runtime: 'node', match: ['*.js'] } },
    });
    const { w, socketPath } = await worker(false, nodeConfig);
    const first = get(socketPath, '/hold-node.js', { QUERY_STRING: 'sa-node-1' });
    await gate!.waitStarted('sa-node-1');
    const ready = w.logs.find((e) => e.msg === 'worker ready');
    const pid = Number(ready?.pid);
    const sockets = (): number => readdirSync(`/proc/${String(pid)}/fd`)
      .filter((fd) => { try { return readlinkSync(`/proc/${String(pid)}/fd/${fd}`).startsWith('socket:'); } catch { return false; } }).length;
    const before = sockets();
    const second = get(socketPath, '/hold-node.js', { QUERY_STRING: 'sa-node-2' });
    // The worker accepted it (one socket more) while the first script still runs.
    await waitUntil('the second connection accepted and waiting', () => sockets() > before, EVENT_TIMEOUT_MS);
    expect(await gate!.started('sa-node-2')).toBeUndefined();
    await gate!.release('sa-node-1', 'sa-node-2');
    const answers = await Promise.all([first, second]);
    expect(answers.map((r) => r.stdout.toString())).toEqual([
      expect.stringContaining(released('sa-node-1')),
      expect.stringContaining(released('sa-node-2')),
    ]);
    expect(w.logs.filter((e) => e.msg === 'worker recycling')).toEqual([]);
    expect(isProcessAlive(w.pid)).toBe(true);
  });

  it('SIGTERM: the request in flight finishes, then the worker exits 0', async () => {
    const { w, socketPath } = await worker();
    const held = gate;
    if (held === undefined) throw new Error('gate: not opened');
    try {
      const pending = get(socketPath, '/hold.sh', { QUERY_STRING: 'term' });
      await held.waitStarted('term');
      process.kill(w.pid, 'SIGTERM');
      // The stop has begun while the request runs; only then may it end.
      await w.waitForLog((e) => e.msg === 'worker stopping');
      await held.release('term');
      const res = await pending;
      expect(parseCgiResponse(res.stdout).status).toBe(200);
      expect(parseCgiResponse(res.stdout).body.toString()).toBe(released('term'));
    } finally {
      await held.release('term');
    }
    expect(await w.exited).toBe(0);
    expect(w.logs.map((e) => e.msg)).toEqual(expect.arrayContaining(['worker stopping', 'request']));
    await expect(get(socketPath, '/hello.sh')).rejects.toThrow();
  });

  it('SIGTERM with an idle kept-alive connection: the worker closes it and exits 0 without waiting for the client', async () => {
    const { w, socketPath } = await worker();
    const conn = await openRawConnection(socketPath);
    const reader = new RecordReader();
    const ended = new Promise<void>((resolve) => {
      conn.socket.on('data', (chunk: Buffer) => {
        if (reader.push(chunk).some((r) => r.type === FCGI.FCGI_END_REQUEST)) resolve();
      });
    });
    await conn.write(
      encodeRequest(1, Object.entries(nginxLikeParams(root, '/hello.sh')), Buffer.alloc(0), true),
    );
    await ended;
    process.kill(w.pid, 'SIGTERM');
    // This client never closes its connection: exit 0 means the worker closed it itself.
    expect(await w.exited).toBe(0);
    expect((await conn.closed).error).toBeUndefined();
  });

  it('leaves when its parent is gone (Apache killed)', async () => {
    const { w } = await worker(true);
    const ready = await w.waitForLog((e) => e.msg === 'worker ready');
    const pid = Number(ready.pid);
    expect(pid).not.toBe(w.pid);
    expect(isProcessAlive(pid)).toBe(true);
    process.kill(w.pid, 'SIGKILL');
    await waitForProcessesGone([pid], undefined, EVENT_TIMEOUT_MS);
    expect(await w.waitForLog((e) => e.msg === 'worker stopping')).toMatchObject({ reason: 'parent gone' });
  });
});
